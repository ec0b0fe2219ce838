// The repair form: shrink the photo before upload, and inside LINE (LIFF) attach the user's ID token.
(function () {
  "use strict";
  var form = document.getElementById("repair");
  if (!form) { return; }
  var photo = document.getElementById("photo");
  var preview = document.getElementById("preview");
  var maxSide = 1600;
  var resized = null;

  photo.addEventListener("change", function () {
    resized = null;
    var file = photo.files && photo.files[0];
    if (!file || !window.createImageBitmap || !window.HTMLCanvasElement) { return; }
    createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        if (blob && blob.size < file.size) { resized = blob; }
        preview.src = URL.createObjectURL(blob || file);
        preview.hidden = false;
      }, "image/jpeg", 0.85);
    }).catch(function () { /* keep the original file */ });
  });

  form.addEventListener("submit", function (ev) {
    var button = document.getElementById("send");
    if (!resized || !window.FormData || !window.fetch) { button.disabled = true; return; }
    ev.preventDefault();
    button.disabled = true;
    var data = new FormData(form);
    data.set("photo", resized, "photo.jpg");
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (resp) { return resp.text(); })
      .then(function (html) { document.open(); document.write(html); document.close(); })
      .catch(function () { button.disabled = false; form.submit(); });
  });

  var liffId = form.getAttribute("data-liff-id");
  if (liffId && window.liff) {
    window.liff.init({ liffId: liffId }).then(function () {
      if (window.liff.isInClient() || window.liff.isLoggedIn()) {
        var token = window.liff.getIDToken();
        if (token) { document.getElementById("id_token").value = token; }
      }
    }).catch(function () { /* not inside LINE: the form works on its own */ });
  }
})();
