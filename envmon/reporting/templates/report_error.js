window.onerror = function (message, source, line) {
  var text = 'Report script error: ' + message + (line ? ' (line ' + line + ')' : '');
  function mark() {
    var box = document.getElementById('script-error');
    if (!box) {
      box = document.createElement('div');
      box.id = 'script-error';
      box.className = 'script-error';
      document.body.insertBefore(box, document.body.firstChild);
    }
    box.textContent = text;
    document.body.setAttribute('data-script-error', String(message));
  }
  if (document.body) { mark(); } else { document.addEventListener('DOMContentLoaded', mark); }
  return false;
};
