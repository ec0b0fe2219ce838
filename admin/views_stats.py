"""The statistics dashboard and the report downloads."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, render_template, request, send_file

from admin import labels as L
from admin import report as R
from admin import security
from admin import stats as S
from admin.blueprint import bp
from admin.queries import format_be_input, parse_be_date
from helpdesk.app import db, services
from tickets.models import utcnow


def period_from_args(args: Any) -> tuple[S.Period, str | None]:
    """The period chosen on the page (default: the current fiscal year) and an error message, if any."""
    kind = args.get("period") or "fy"
    try:
        if kind == "month" and args.get("month"):
            return S.parse_month(args["month"]), None
        if kind == "range":
            first, last = parse_be_date(args.get("from")), parse_be_date(args.get("to"))
            if first and last:
                return S.range_period(first, last), None
            raise ValueError("range")
        if args.get("fy"):
            return S.parse_fiscal_year(args["fy"]), None
    except ValueError:
        return S.fiscal_year_period(S.current_fiscal_year()), L.PERIOD_INVALID
    return S.fiscal_year_period(S.current_fiscal_year()), None


def chart_data(st: S.Stats) -> dict[str, Any]:
    def pairs(items: list[tuple[str, int]], table: dict[str, str], empty: str = L.NOT_SET) -> dict[str, list[Any]]:
        return {"labels": [table.get(k, k) if k else empty for k, _ in items], "values": [n for _, n in items]}

    period = st.period
    if period.kind == "fiscal_year" or (period.end - period.start).days > 62:
        keys = S.months_of(period)
        trend = {"labels": [S.month_label(k) for k in keys], "values": S.fill(st.by_month, keys)}
    else:
        keys = S.days_of(period)
        trend = {"labels": [f"{int(k[8:10])}/{int(k[5:7])}" for k in keys], "values": S.fill(st.by_day, keys)}
    targets = ("registration", "first_response", "resolution")
    return {
        "category": {"labels": [L.CATEGORY_TH.get(c["key"], c["key"]) if c["key"] else L.NO_CATEGORY
                                for c in st.by_category],
                     "values": [c["n"] for c in st.by_category]},
        "channel": pairs(st.by_channel, L.CHANNEL_TH),
        "intent": pairs(st.by_intent, L.INTENT_TH),
        "trend": trend,
        "fiscal": {"labels": [f"ปีงบ {fy}" for fy, _ in st.by_fiscal_year], "values": [n for _, n in st.by_fiscal_year]},
        "sla": {
            "labels": [L.SLA_TARGET_TH[t] for t in targets],
            "met": [st.sla[t]["met"] for t in targets],
            "breached": [st.sla[t]["breached"] for t in targets],
            "pending": [st.sla[t]["pending"] for t in targets],
            "names": {"met": "ทันกำหนด", "breached": "เกินกำหนด", "pending": "ยังไม่ครบกำหนด"},
        },
    }


@bp.get("/stats")
@security.requires("viewer")
def dashboard() -> Any:
    period, error = period_from_args(request.args)
    st = S.compute(db(), services().office_id, period, now=utcnow())
    fy_now = S.current_fiscal_year()
    return render_template(
        "admin/dashboard.html",
        st=st,
        period=period,
        error=error,
        charts=chart_data(st),
        fiscal_years=list(range(fy_now, fy_now - 6, -1)),
        args=request.args,
        range_from=request.args.get("from") or format_be_input(period.start),
        range_to=request.args.get("to") or "",
        month_value=request.args.get("month") or f"{period.start.year + 543}-{period.start.month:02d}",
    )


@bp.get("/reports")
@security.requires("viewer")
def reports() -> Any:
    now = utcnow()
    fy_now = S.current_fiscal_year(now)
    from helpdesk.thaidate import to_local

    local = to_local(now)
    months = []
    y, m = local.year, local.month
    for _ in range(24):
        months.append((f"{y + 543}-{m:02d}", S.month_label(f"{y}-{m:02d}", full=True)))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return render_template("admin/reports.html", months=months, fiscal_years=list(range(fy_now, fy_now - 6, -1)))


@bp.get("/reports/download")
@security.requires("viewer")
def report_download() -> Any:
    fmt = request.args.get("format") or "pdf"
    if fmt not in ("pdf", "xlsx"):
        abort(400)
    try:
        if request.args.get("kind") == "fy":
            period = S.parse_fiscal_year(request.args.get("fy") or "")
        else:
            period = S.parse_month(request.args.get("month") or "")
    except ValueError:
        abort(400)
    svc = services()
    name = f"report-{period.key}.{fmt}"
    if fmt == "pdf":
        try:
            content = R.build(svc, period, "pdf")
        except R.ReportError as exc:
            return render_template("admin/error.html", code=500, message=str(exc)), 500
        assert content is not None
        return send_file(io.BytesIO(content), mimetype="application/pdf", as_attachment=True, download_name=name)
    import os
    import tempfile

    fd, path = tempfile.mkstemp(prefix="helpdesk-report-", suffix=".xlsx")
    os.close(fd)
    try:
        R.build(svc, period, "xlsx", path)
        fh = open(path, "rb")  # noqa: SIM115 - closed by the response
    finally:
        os.unlink(path)
    return send_file(fh, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=name)
