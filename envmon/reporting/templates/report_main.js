(function () {
  var charts = document.querySelectorAll('svg.chart');
  var drawn = 0;
  for (var i = 0; i < charts.length; i++) {
    var box = charts[i].getBBox();
    if (box.width > 0 && box.height > 0 && charts[i].querySelector('[data-mark]')) {
      charts[i].setAttribute('data-drawn', '1');
      drawn++;
    }
  }
  var tip = document.getElementById('tip');
  document.addEventListener('mouseover', function (e) {
    var target = e.target.closest ? e.target.closest('[data-tip]') : null;
    if (!target) { tip.hidden = true; return; }
    tip.textContent = target.getAttribute('data-tip');
    tip.hidden = false;
  });
  document.addEventListener('mousemove', function (e) {
    if (!tip.hidden) {
      tip.style.left = (e.pageX + 14) + 'px';
      tip.style.top = (e.pageY + 14) + 'px';
    }
  });
  document.body.dataset.chartsDrawn = String(drawn);
})();
