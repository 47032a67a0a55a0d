#!/usr/bin/env python3
"""Check notebook 08's drawing pad in a real browser: JupyterLab headless and Chromium.

    .venv/bin/python tools/check_drawing_pad.py [--screenshot build/drawing_pad.png]

What it does, on a copy of the notebook in a temporary folder (the repository's notebook
is never saved over):

1. starts JupyterLab from .venv with a random token, using the offline sample of MNIST;
2. starts headless Chromium and drives it through the Chrome DevTools protocol;
3. opens notebook 08 and runs its cells down to the one that shows the drawing pad;
4. draws a 7 on the pad with synthetic mouse events (press, moves, release);
5. waits until the pad says "I read a ...", asks the kernel what it received, and saves a
   screenshot.

Exit code 0 when the answer appeared, 1 when it did not, 2 when Chromium is missing
(install it with `apt-get install chromium`). Not part of the unit tests or of CI: it needs
a browser and takes a minute or two.
"""

import argparse
import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "08_your_own_digit.ipynb"
JUPYTER = ROOT / ".venv" / "bin" / "jupyter"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--remote-allow-origins=*",
    "--window-size=1400,1000",
]
# A 7 in the pad's own coordinates (0..1 of its width and height): a bar, then the stem.
STROKE = [(0.25, 0.2), (0.45, 0.2), (0.75, 0.2), (0.65, 0.4), (0.55, 0.6), (0.45, 0.85)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, seconds):
    """Return the body of `url` once it answers, or raise after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


class DevTools:
    """A minimal Chrome DevTools protocol client over one page's websocket."""

    def __init__(self, url):
        import websocket  # websocket-client, installed with jupyter_server

        self.socket = websocket.create_connection(url, timeout=900, suppress_origin=True)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        """Run JavaScript in the page (promises awaited); return its value."""
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True,
                           returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def mouse(self, kind, x, y, buttons):
        self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                  buttons=buttons, clickCount=1)


OPEN_NOTEBOOK = """(async () => {
  const app = window.jupyterapp, name = %s;
  await app.restored;
  const find = () => [...app.shell.widgets("main")].find(
    w => w.context && w.context.path && w.context.path.endsWith(name));
  if (!find()) await app.commands.execute("docmanager:open", {path: name});
  for (let i = 0; i < 3000; i++) {
    const panel = find();
    if (panel && panel.content && panel.sessionContext && panel.context.isReady) {
      await panel.sessionContext.ready;
      window.padPanel = panel;
      return panel.content.widgets.length;
    }
    await new Promise(r => setTimeout(r, 100));
  }
  return 0;
})()"""

RUN_DOWN_TO_PAD = """(async () => {
  const app = window.jupyterapp, panel = window.padPanel, notebook = panel.content;
  app.shell.activateById(panel.id);
  const sources = notebook.widgets.map(cell => cell.model.sharedModel.getSource());
  const pad = sources.findIndex(s => s.includes("mnistlab.DrawingPad("));
  notebook.activeCellIndex = pad + 1;
  await app.commands.execute("notebook:run-all-above");
  notebook.activeCellIndex = pad;
  await notebook.scrollToItem(pad, "center");
  return pad;
})()"""

FIND_CANVAS = """(() => {
  const canvases = [...document.querySelectorAll(".jp-Notebook canvas")]
    .map(c => c.getBoundingClientRect()).filter(r => r.width > 200 && r.height > 200);
  if (!canvases.length) return null;
  const r = canvases[0];
  return [r.left, r.top, r.width, r.height];
})()"""

ASK_KERNEL = """(async () => {
  const kernel = window.padPanel.sessionContext.session.kernel;
  const future = kernel.requestExecute({code: %s});
  let text = "";
  future.onIOPub = msg => { if (msg.header.msg_type === "stream") text += msg.content.text; };
  await future.done;
  return text;
})()"""


def run_check(chromium, screenshot, port, workdir):
    token = secrets.token_hex(16)
    notebooks = workdir / "notebooks"  # what the lab shows; its settings live beside it
    notebooks.mkdir()
    shutil.copy(NOTEBOOK, notebooks / NOTEBOOK.name)
    env = dict(os.environ, MNISTLAB_SAMPLE="1", JUPYTER_CONFIG_DIR=str(workdir / "config"),
               JUPYTERLAB_WORKSPACES_DIR=str(workdir / "workspaces"))
    lab = subprocess.Popen(
        [str(JUPYTER), "lab", "--no-browser", "--allow-root", f"--port={port}",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={notebooks}",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(workdir / "lab.log", "w"),
    )
    debug_port = free_port()
    browser = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--remote-debugging-port={debug_port}",
         f"--user-data-dir={workdir / 'chromium'}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/api/status?token={token}", 120)
        wait_for(f"http://127.0.0.1:{debug_port}/json/version", 60)
        pages = json.loads(wait_for(f"http://127.0.0.1:{debug_port}/json/list", 10))
        page = next(p for p in pages if p["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        tools.call("Page.enable")
        tools.call("Page.navigate",
                   url=f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK.name}?token={token}")
        wait = time.monotonic()
        for _ in range(600):  # the page's scripts define jupyterapp after loading
            if tools.evaluate("typeof window.jupyterapp !== 'undefined'"):
                break
            time.sleep(0.2)
        cells = tools.evaluate(OPEN_NOTEBOOK % json.dumps(NOTEBOOK.name))
        print(f"notebook open with {cells} cells", flush=True)
        if not cells:
            print("FAIL: the notebook did not open")
            return 1
        pad_cell = tools.evaluate(RUN_DOWN_TO_PAD)
        print(f"ran cells 1-{pad_cell + 1} (down to the pad) in "
              f"{time.monotonic() - wait:.0f} s", flush=True)
        box = None
        for _ in range(100):
            box = tools.evaluate(FIND_CANVAS)
            if box:
                break
            time.sleep(0.3)
        if not box:
            print("FAIL: the pad's canvas did not appear")
            return 1
        left, top, width, height = box
        points = [(left + fx * width, top + fy * height) for fx, fy in STROKE]
        tools.mouse("mouseMoved", *points[0], buttons=0)
        tools.mouse("mousePressed", *points[0], buttons=1)
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            for step in range(1, 9):  # eight small moves per segment, as a hand makes
                t = step / 8
                tools.mouse("mouseMoved", x0 + t * (x1 - x0), y0 + t * (y1 - y0), buttons=1)
                time.sleep(0.02)
        tools.mouse("mouseReleased", *points[-1], buttons=0)
        answer = None
        for _ in range(150):
            text = tools.evaluate("document.querySelector('.jp-Notebook').innerText")
            answer = next((line for line in text.splitlines() if line.startswith("I read a")),
                          None)
            if answer:
                break
            time.sleep(0.2)
        code = json.dumps("print(len(pad.strokes), sum(map(len, pad.strokes)), "
                          "pad.probabilities.argmax().item() if pad.probabilities is not None "
                          "else None)")
        received = tools.evaluate(ASK_KERNEL % code).split()
        time.sleep(1.0)  # let the bars finish their transition before the picture
        shot = tools.call("Page.captureScreenshot", format="png")["data"]
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot))
        print(f"the pad shows: {answer!r}")
        print(f"the kernel received {received[0]} stroke(s) of {received[1]} points and "
              f"predicts {received[2]}")
        print(f"screenshot: {screenshot}")
        ok = answer is not None and received[0] == "1" and int(received[1]) > 5
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        browser.terminate()
        lab.terminate()
        for process in (browser, lab):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screenshot", type=Path, default=ROOT / "build" / "drawing_pad.png",
                        help="where to save the screenshot (default build/drawing_pad.png)")
    parser.add_argument("--port", type=int, default=None, help="JupyterLab's port (default: free)")
    args = parser.parse_args()
    chromium = next((shutil.which(name) for name in ("chromium", "chromium-browser",
                                                     "google-chrome") if shutil.which(name)), None)
    if chromium is None:
        print("Chromium is not installed: apt-get install chromium (Debian/Ubuntu); skipped.")
        return 2
    if not JUPYTER.exists():
        print("No .venv yet: run `python3 run.py test` (or `lab`) once to create it.")
        return 2
    with tempfile.TemporaryDirectory(prefix="mnistlab-pad-") as workdir:
        return run_check(chromium, args.screenshot.resolve(), args.port or free_port(),
                         Path(workdir))


if __name__ == "__main__":
    sys.exit(main())
