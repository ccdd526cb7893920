"""Smoke test of the browser harness: ipywidgets, anywidget and bqplot front ends load in
JupyterLab and talk to the kernel both ways."""

from __future__ import annotations

import sys

from _labharness import Lab

STATE = "smoke-state.json"

CELLS = [
    f"""
import sys
import ipywidgets as W
from labstate import dump

STATE = {STATE!r}
dump(STATE, python=sys.executable, ipw_clicks=0, any_clicks=0)
clicks = {{"n": 0}}

def on_click(_button):
    clicks["n"] += 1
    dump(STATE, ipw_clicks=clicks["n"])

button = W.Button(description="ipywidgets button")
button.add_class("smoke-ipw-button")
button.on_click(on_click)
button
""",
    '''
import anywidget
import traitlets

class Counter(anywidget.AnyWidget):
    _esm = """
    function render({ model, el }) {
      const btn = document.createElement("button");
      btn.className = "smoke-any-button";
      const sync = () => { btn.textContent = model.get("label"); };
      sync();
      model.on("change:label", sync);
      btn.addEventListener("click", () => {
        model.set("clicks", model.get("clicks") + 1);
        model.save_changes();
      });
      el.appendChild(btn);
    }
    export default { render };
    """
    label = traitlets.Unicode("anywidget button").tag(sync=True)
    clicks = traitlets.Int(0).tag(sync=True)

def on_clicks(change):
    counter.label = f"clicked {change['new']}"  # Python -> JS
    dump(STATE, any_clicks=change["new"])

counter = Counter()
counter.observe(on_clicks, names="clicks")
counter
''',
    """
import bqplot as bq

xs, ys = bq.OrdinalScale(), bq.LinearScale()
bars = bq.Bars(x=["a", "b", "c"], y=[3, 1, 2], scales={"x": xs, "y": ys})
fig = bq.Figure(
    marks=[bars],
    axes=[bq.Axis(scale=xs), bq.Axis(scale=ys, orientation="vertical")],
    title="smoke bars",
    layout=W.Layout(width="480px", height="280px"),
)
fig
""",
]


def test_widgets_load_and_round_trip(lab: Lab) -> None:
    from playwright.sync_api import expect

    page = lab.open_notebook("smoke.ipynb", CELLS)
    state = lab.read_json(STATE)
    assert state["python"] == sys.executable  # the kernel is the venv's interpreter

    ipw = page.locator("button.smoke-ipw-button")
    ipw.click()
    ipw.click()
    lab.read_json(STATE, lambda s: s["ipw_clicks"] == 2, timeout=10)

    anyw = page.locator("button.smoke-any-button")
    expect(anyw).to_have_text("anywidget button")
    anyw.click()
    lab.read_json(STATE, lambda s: s["any_clicks"] == 1, timeout=10)
    expect(anyw).to_have_text("clicked 1")  # the kernel's answer reached the view

    expect(page.locator(".bqplot svg").first).to_be_visible()
    expect(page.locator(".bqplot rect.bar")).to_have_count(3)

    out = lab.run_cell_code(page, "print(clicks['n'], counter.clicks)")
    assert out.split() == ["2", "1"]

    lab.command(page, "notebook:hide-all-cell-code")  # outputs only: all three widgets fit
    lab.screenshot(page, "lab-smoke")
    lab.assert_no_errors(page)
