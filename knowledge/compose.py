"""The Thai reply body for each kind of answer (the pipeline adds the ticket line)."""

from __future__ import annotations

from collections.abc import Sequence

from knowledge import messages_th as M
from knowledge.articles import Article

MAX_ANSWER_CHARS = 1800  # LINE shows long bubbles badly; the article answers are much shorter anyway


def _office(office_name: str | None) -> str:
    return (office_name or M.OFFICE_DEFAULT).strip()


def article_block(article: Article) -> str:
    body = article.answer.strip()
    if len(body) > MAX_ANSWER_CHARS:
        body = body[: MAX_ANSWER_CHARS - 1].rstrip() + "…"
    return f"{body}\n\n{article.citation_th()}"


def compose_answer(article: Article) -> str:
    return article_block(article)


def compose_choices(options: Sequence[Article]) -> str:
    lines = [M.CHOICES_HEADER]
    lines += [M.CHOICE_ITEM.format(n=i, title=a.title) for i, a in enumerate(options, 1)]
    lines.append(M.CHOICES_FOOTER)
    return "\n".join(lines)


def compose_handoff(
    article: Article | None, *, urgent: bool = False, followup: bool = False, ticket_numbers: Sequence[str] = ()
) -> str:
    parts: list[str] = []
    if followup:
        parts.append(M.FOLLOWUP_LINE)
        if ticket_numbers:
            parts.append(M.FOLLOWUP_NUMBER.format(numbers=", ".join(ticket_numbers)))
    elif article is None:
        parts.append(M.HANDOFF_NO_ARTICLE)
    else:
        parts.append(M.HANDOFF_URGENT_LINE if urgent else M.HANDOFF_LINE)
    if article is not None:
        parts.append(f"{M.HANDOFF_SELF_HELP}\n{article_block(article)}")
    if not followup:
        if article is None and urgent:
            parts.append(M.HANDOFF_URGENT_LINE)
        parts.append(M.HANDOFF_DETAILS_HINT)
    return "\n\n".join(parts)


def compose_out_of_scope(article: Article | None, office_name: str | None) -> str:
    if article is not None:
        return article_block(article)
    return "\n".join([
        M.OUT_OF_SCOPE.format(group=M.GROUP_NAME),
        M.OUT_OF_SCOPE_WHERE.format(office=_office(office_name)),
    ])


def compose_greeting(office_name: str | None) -> str:
    return "\n".join([
        M.GREETING.format(group=M.GROUP_NAME, office=_office(office_name)).strip(),
        M.GREETING_HELP,
        M.GREETING_TICKET_HINT,
    ])


def compose_feedback(complaint: bool) -> str:
    return M.FEEDBACK_COMPLAINT if complaint else M.FEEDBACK_THANKS
