r"""Audit built HTML pages in headless Chromium through the DevTools protocol (over a pipe: stdlib only).

A page has a problem when: a script of our own origin throws, a request to our own origin fails, an image
of our own origin does not load, an output cell shows stderr or a traceback, a widget did not render, math
is not typeset or wrong, raw TeX shows in the text, or a list interrupts a sentence. The last three are
checked once MathJax has finished (MathJax.startup.promise; 5 s for it to appear, 15 s to typeset):
- math: an element of Sphinx's class "math" with no MathJax output in it (MathJax did not load or finish),
  a TeX error (mjx-merror), or an undefined macro (MathJax shows it in red).
- raw TeX: outside code, pre, kbd, samp, script, style, noscript, textarea, math and MathJax's output,
  text holding \( \) \[ \], a backslash and two or more letters (\frac, \to), or a $...$ pair by pandoc's
  rule: the opening $ has a non-space on its right, the closing $ a non-space on its left and no digit
  after it, so "$5 and $6" is prose and "$x$" is not. Text is joined per block (p, li, td...) first.
- a list that interrupts a sentence: in the article, an <ol> or <ul> right after a <p> whose text does not
  end with . : ; ? ! (closing brackets and quotes aside; math counts as a word). That is how a line such as
  "...with stride\n1. Nearest..." becomes a list. Admonition titles, captions and rubrics are skipped.
Every other host is made unresolvable, so CDN requests fail fast and identically everywhere; they are
listed in `PageAudit.external`, never counted as problems: the book must read well without them.
"""
import base64
import contextlib
import fcntl
import functools
import http.server
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--no-default-browser-check", "--hide-scrollbars", "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # other hosts fail at once, online or not
    "--remote-debugging-pipe",
)
VIEWPORT = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}
MAX_SCREENSHOT_HEIGHT = 16000  # px; very long chapters are cut rather than making huge files

# Runs in the page; returns a list of problems found in the rendered document.
AUDIT_SCRIPT = r"""(async () => {
  const settled = (img) => img.complete ? null : new Promise((done) => {
    img.addEventListener("load", done); img.addEventListener("error", done); setTimeout(done, 5000);
  });
  for (const img of document.images) img.loading = "eager";  // lazy images below the fold count too
  await Promise.all(Array.from(document.images, settled));
  const problems = [];
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  // MathJax loads asynchronously: give its script 5 s to define MathJax.startup, then 15 s to typeset.
  const mathjaxScript = document.querySelector("script[src*='mathjax' i]");
  for (let waited = 0; mathjaxScript && !window.MathJax?.startup?.promise && waited < 5000; waited += 100)
    await sleep(100);
  if (window.MathJax?.startup?.promise) {
    const outcome = await Promise.race([MathJax.startup.promise.then(() => "done", (error) => `failed: ${error}`),
                                        sleep(15000).then(() => "did not finish within 15 s")]);
    if (outcome !== "done") problems.push(`MathJax ${outcome}`);
  }
  const ours = (url) => new URL(url, location.href).origin === location.origin;
  const snippet = (el) => el.textContent.trim().replace(/\s+/g, " ").slice(0, 200);
  for (const img of document.images) {
    const src = img.currentSrc || img.src;
    if (src && ours(src) && (!img.complete || img.naturalWidth === 0))
      problems.push(`image did not load: ${img.getAttribute("src")}`);
  }
  for (const out of document.querySelectorAll(".cell_output .output.stderr"))
    problems.push(`stderr output: ${snippet(out)}`);
  for (const out of document.querySelectorAll(".cell_output .output.traceback, .cell_output .output.error"))
    problems.push(`error output: ${snippet(out)}`);
  for (const out of document.querySelectorAll(".cell_output"))
    if (/Traceback \(most recent call last\)/.test(out.textContent) && !out.querySelector(".traceback"))
      problems.push(`traceback in output: ${snippet(out)}`);
  for (const view of document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')) {
    const rendered = view.parentElement.querySelector(".jupyter-widgets, .widget-area, [class^='widget-']");
    if (!rendered || rendered.getBoundingClientRect().height === 0)
      problems.push("widget did not render (use _helpers.show_widget with a static fallback)");
  }
  for (const area of document.querySelectorAll(".jupyter-widgets"))
    if (!area.textContent.trim() && !area.querySelector("img, svg, canvas, input"))
      problems.push("empty widget area");
  if (/Loading widgets?\.\.\./.test(document.body.innerText))
    problems.push("widget placeholder 'Loading widget...' left in the page");
  for (const math of document.querySelectorAll(".math"))
    if (!math.querySelector("mjx-container")) problems.push(`math not typeset: ${snippet(math)}`);
  for (const error of document.querySelectorAll("mjx-merror"))
    problems.push(`TeX error: ${error.getAttribute("data-mjx-error") || snippet(error)}`);
  for (const macro of document.querySelectorAll("mjx-assistive-mml mtext[mathcolor='red']"))
    if (macro.textContent.startsWith("\\")) problems.push(`undefined TeX macro: ${macro.textContent}`);
  // Raw TeX: text outside code and math, joined per block so that a $...$ split by markup still matches.
  const exempt = "code, pre, kbd, samp, script, style, noscript, textarea, math, mjx-container, .math";
  const blockText = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) {
    if (node.parentElement.closest(exempt)) continue;
    const block = node.parentElement.closest("p, li, td, th, dt, dd, h1, h2, h3, h4, h5, h6, figcaption, div");
    blockText.set(block, (blockText.get(block) || "") + node.textContent);
  }
  const rawTex = /\\[()[\]]|\\[A-Za-z]{2,}|\$(?=\S)[^$]*?\S\$(?!\d)/;
  for (const text of blockText.values()) {
    const found = text.match(rawTex);
    if (found) {
      const around = text.slice(Math.max(0, found.index - 60), found.index + 80).replace(/\s+/g, " ").trim();
      problems.push(`raw TeX in the text: ${found[0].slice(0, 40)} in "${around}"`);
    }
  }
  // Lists that interrupt a sentence: the paragraph before ends with no . : ; ? ! (math counts as a word).
  const article = document.querySelector("article, main, [role=main]") || document.body;
  const notProse = ".caption, .rubric, .admonition-title, .sidebar-title, .topic-title, [role=heading]";
  const proseOf = (p) => {
    const copy = p.cloneNode(true);
    for (const math of copy.querySelectorAll(".math, mjx-container")) math.replaceWith("x");
    return copy.textContent.replace(/\s+/g, " ").trim();
  };
  for (const list of article.querySelectorAll("ol, ul")) {
    let before = list.previousSibling;
    while (before?.nodeType === Node.TEXT_NODE && !before.textContent.trim()) before = before.previousSibling;
    if (!before || before.nodeName !== "P" || before.matches(notProse)) continue;
    const prose = proseOf(before);
    if (/[.:;?!\u2026][)\]}"'\u201d\u2019*_]*$/.test(prose)) continue;
    const marker = list.nodeName === "OL" ? `${list.start}.` : "-";
    const item = list.querySelector("li")?.textContent.replace(/\s+/g, " ").trim().slice(0, 60);
    problems.push(`list interrupts a sentence: "...${prose.slice(-60)}" then "${marker} ${item}..."`);
  }
  return problems;
})()"""


def find_chromium():
    """Path of a Chromium-family browser: $MINIGRAD_CHROMIUM, else the first of CHROMIUM_NAMES on PATH."""
    explicit = os.environ.get("MINIGRAD_CHROMIUM")
    if explicit:
        return explicit
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def _high_fd(fd):
    """Move `fd` to a number >= 10 so that placing the pipes on fds 3 and 4 in the child cannot clobber them."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Browser:
    """One headless Chromium driven over --remote-debugging-pipe (JSON messages ended by NUL on fds 3 / 4)."""

    def __init__(self, executable, timeout=30.0):
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="minigrad-chromium-")
        to_browser_r, self._to_browser = map(_high_fd, os.pipe())
        self._from_browser, from_browser_w = map(_high_fd, os.pipe())

        def wire_pipes():  # runs in the child just before exec: Chromium reads fd 3 and writes fd 4
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self._log = tempfile.TemporaryFile()  # Chromium's stderr, quoted if it dies
        self._process = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
            preexec_fn=wire_pipes, close_fds=False,  # our other fds are close-on-exec anyway
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._messages = queue.Queue()
        self._events = {}  # session id -> [(method, params)]
        self._next_id = 0
        self._reader = threading.Thread(target=self._read_messages, daemon=True)
        self._reader.start()

    def _read_messages(self):
        buffer = b""
        while chunk := os.read(self._from_browser, 1 << 16):
            *messages, buffer = (buffer + chunk).split(b"\0")
            for message in messages:
                self._messages.put(json.loads(message))
        self._messages.put(None)  # the browser closed its end: it has exited

    def _exited(self):
        """The error to raise once the browser has gone, quoting the end of its stderr."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=2)
        self._log.seek(0)
        last_lines = self._log.read().decode(errors="replace").splitlines()[-5:]
        return RuntimeError(f"Chromium exited (code {self._process.poll()}):\n" + "\n".join(last_lines))

    def _receive(self, deadline):
        """The next message, or None when `deadline` passes; events are filed under their session."""
        try:
            message = self._messages.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None
        if message is None:
            raise self._exited()
        if "method" in message:
            self._events.setdefault(message.get("sessionId"), []).append((message["method"], message["params"]))
        return message

    def call(self, method, session=None, **params):
        """Send one protocol command and return its result; raise on a protocol error or a timeout."""
        self._next_id += 1
        request = {"id": self._next_id, "method": method, "params": params}
        if session:
            request["sessionId"] = session
        try:
            os.write(self._to_browser, json.dumps(request).encode() + b"\0")
        except BrokenPipeError:
            raise self._exited() from None
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message = self._receive(deadline)
            if message and message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error'].get('message')}")
                return message["result"]
        raise TimeoutError(f"{method}: no answer from Chromium within {self.timeout} s")

    def events(self, session):
        """The events received so far for `session`: [(method, params)]."""
        return self._events.get(session, [])

    def wait_for(self, session, method, timeout):
        """Block until `session` has received an event named `method`; False on timeout."""
        deadline = time.monotonic() + timeout
        while not any(name == method for name, _ in self.events(session)):
            if time.monotonic() >= deadline:
                return False
            self._receive(deadline)
        return True

    def wait_until_quiet(self, session, quiet=0.5, timeout=10.0):
        """Let late requests and scripts finish: return after `quiet` s without events, or at `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._receive(min(deadline, time.monotonic() + quiet)) is None:
                return

    def close(self):
        with contextlib.suppress(Exception):
            self.timeout = 5.0
            self.call("Browser.close")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=5)  # it ends at the browser's end of file
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@contextlib.contextmanager
def serve(directory):
    """Serve `directory` over HTTP on 127.0.0.1 (a free port) in a thread; yields the base URL."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(directory))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            thread.join()


@dataclass
class PageAudit:
    url: str
    problems: list = field(default_factory=list)  # what makes the page fail, one line each
    external: list = field(default_factory=list)  # URLs requested from other hosts (blocked here)


def _network_problems(audit, events):
    """Failed requests: ours are problems, other hosts' go to `audit.external`."""
    urls = {}
    origin = urlsplit(audit.url)[:2]
    for method, params in events:
        if method == "Network.requestWillBeSent":
            urls[params["requestId"]] = url = params["request"]["url"]
            if urlsplit(url).scheme in ("http", "https") and urlsplit(url)[:2] != origin:
                audit.external.append(url)
            continue
        url = urls.get(params.get("requestId"), "")
        if urlsplit(url)[:2] != origin:
            continue
        if method == "Network.loadingFailed" and not params.get("canceled"):
            audit.problems.append(f"request failed ({params['errorText']}): {url}")
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            audit.problems.append(f"HTTP {params['response']['status']}: {url}")


def _script_problems(audit, events):
    """Uncaught exceptions and console.error calls raised by our own scripts (inline ones included)."""
    origin = urlsplit(audit.url)[:2]
    for method, params in events:
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            frames = details.get("stackTrace", {}).get("callFrames", [])
            source = details.get("url") or (frames[0]["url"] if frames else audit.url)
            message = details.get("exception", {}).get("description") or details.get("text")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            frames = params.get("stackTrace", {}).get("callFrames", [])
            source = frames[0]["url"] if frames else audit.url
            message = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"])
        else:
            continue
        if urlsplit(source)[:2] == origin:
            audit.problems.append(f"JavaScript error in {source}: {message.splitlines()[0]}")


@contextlib.contextmanager
def _open_tab(browser, url, audit, load_timeout):
    """A fresh tab at `url`, loaded and quiet: yields its session, or None when it did not open."""
    target = browser.call("Target.createTarget", url="about:blank")["targetId"]
    session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    try:
        for domain in ("Page", "Runtime", "Network"):
            browser.call(f"{domain}.enable", session)
        browser.call("Emulation.setDeviceMetricsOverride", session, **VIEWPORT)
        navigation = browser.call("Page.navigate", session, url=url)
        if "errorText" in navigation:
            audit.problems.append(f"page did not open: {navigation['errorText']}")
            yield None
            return
        if not browser.wait_for(session, "Page.loadEventFired", load_timeout):
            audit.problems.append(f"page did not finish loading within {load_timeout} s")
        browser.wait_until_quiet(session)
        yield session
    finally:
        browser.call("Target.closeTarget", targetId=target)


def evaluate(browser, session, expression, url=""):
    """The value of a JavaScript expression in the page (awaited if a promise); raise if it throws."""
    found = browser.call("Runtime.evaluate", session, expression=expression, returnByValue=True, awaitPromise=True)
    if "exceptionDetails" in found:
        raise RuntimeError(f"a test script failed on {url}: {found['exceptionDetails']}")
    return found["result"].get("value")


def audit_page(browser, url, screenshot=None, load_timeout=30.0):
    """Open `url` in a fresh tab, collect its problems and external requests; save a PNG if `screenshot`."""
    audit = PageAudit(url)
    with _open_tab(browser, url, audit, load_timeout) as session:
        if session is None:
            return audit
        audit.problems += evaluate(browser, session, AUDIT_SCRIPT, url)
        events = browser.events(session)
        _network_problems(audit, events)
        _script_problems(audit, events)
        if screenshot:
            _save_screenshot(browser, session, screenshot)
        return audit


# Runs in the page: the explorers' data (book/_helpers.py explorer_html), each text as the page's
# innerHTML writes it back, and whether their controls show.
EXPLORERS_SCRIPT = r"""Array.from(document.querySelectorAll(".explorer"), (root) => {
  const data = JSON.parse(root.querySelector("script.explorer-data").textContent);
  const parsed = document.createElement("template");
  data.texts = data.texts.map((text) => { parsed.innerHTML = text; return parsed.innerHTML; });
  return {data, controlsShown: !root.querySelector(".explorer-controls").hidden,
          staticNote: Boolean(root.querySelector(".explorer-static"))};
})"""

# Runs in the page with (explorer, control, value index): moves the control as a reader does (its value,
# then the event a browser fires) and returns what the explorer then shows.
MOVE_SCRIPT = r"""((explorer, control, value) => {
  const root = document.querySelectorAll(".explorer")[explorer];
  const inputs = root.querySelectorAll("[data-control]");
  const input = inputs[control];
  input.value = String(value);
  input.dispatchEvent(new Event(input.tagName === "SELECT" ? "change" : "input", {bubbles: true}));
  const image = root.querySelector("img.explorer-frame");
  return {
    values: Array.from(inputs, (each) => Number(each.value)),
    labels: Array.from(root.querySelectorAll(".explorer-value"), (each) => each.textContent),
    src: image && !image.hidden ? image.getAttribute("src") : null,
    text: root.querySelector(".explorer-text").innerHTML,
  };
})"""


@dataclass
class ExplorerAudit:
    url: str
    explorers: int = 0
    moves: int = 0
    problems: list = field(default_factory=list)


def _values_to_try(count, base):
    """Value indices a control is moved to: its last, first and middle value, then back to the base."""
    return list(dict.fromkeys(v for v in (count - 1, 0, count // 2) if v != base)) + [base]


def explore_page(browser, url, screenshots=None, load_timeout=30.0):
    """Move every control of every explorer on `url` to a few values and check that the explorer shows the
    state it precomputed for them: the moved control where it was put, all controls at a computed state
    (the one asked for, when it was computed), that state's frame and text, no script error. Saves a PNG of
    each explorer after each control's moves when `screenshots` (a path prefix) is given."""
    audit = ExplorerAudit(url)
    with _open_tab(browser, url, audit, load_timeout) as session:
        if session is None:
            return audit
        explorers = evaluate(browser, session, EXPLORERS_SCRIPT, url)
        audit.explorers = len(explorers)
        for number, explorer in enumerate(explorers):
            data, where = explorer["data"], f"explorer {number + 1}"
            if not explorer["controlsShown"] or explorer["staticNote"]:
                audit.problems.append(f"{where}: its controls were not switched on (book/_static/explorer.js)")
                continue
            computed = {tuple(state): index for index, state in enumerate(data["states"])}
            current = list(data["states"][0])
            for control, spec in enumerate(data["controls"]):
                for value in _values_to_try(len(spec["labels"]), data["states"][0][control]):
                    wanted = current[:control] + [value] + current[control + 1:]
                    shown = evaluate(browser, session, f"{MOVE_SCRIPT}({number}, {control}, {value})", url)
                    audit.moves += 1
                    move = f"{where}, {spec['name']} -> {spec['labels'][value]}"
                    state = computed.get(tuple(shown["values"]))
                    if shown["values"][control] != value:
                        audit.problems.append(f"{move}: the control shows {shown['values'][control]}")
                    if state is None:
                        audit.problems.append(f"{move}: the controls show a state never computed: {shown['values']}")
                        continue
                    if tuple(wanted) in computed and state != computed[tuple(wanted)]:
                        audit.problems.append(f"{move}: the controls moved to {shown['values']}, not {wanted}")
                    frame, text = data["shown"][state]
                    expected_src = None if frame < 0 else "data:image/png;base64," + data["frames"][frame]
                    if shown["src"] != expected_src:
                        audit.problems.append(f"{move}: the figure is not the frame computed for this state")
                    if shown["text"] != data["texts"][text]:
                        audit.problems.append(f"{move}: the text is not the one computed for this state: "
                                              f"{shown['text'][:120]!r}")
                    labels = [c["labels"][v] for c, v in zip(data["controls"], shown["values"])]
                    if shown["labels"] != labels:
                        audit.problems.append(f"{move}: the values shown are {shown['labels']}, not {labels}")
                    current = list(shown["values"])
                    if screenshots and value == len(spec["labels"]) - 1 != data["states"][0][control]:
                        path = f"{screenshots}-{number + 1}-{spec['name']}.png"  # the control at its last value
                        _save_element_screenshot(browser, session, number, path)
        events = browser.events(session)
        _network_problems(audit, events)
        _script_problems(audit, events)
        return audit


def _save_element_screenshot(browser, session, explorer, path):
    """The `explorer`-th explorer of the page as a PNG at `path`."""
    box = evaluate(browser, session, f"""(async () => {{
      const root = document.querySelectorAll(".explorer")[{explorer}];
      await root.querySelector("img.explorer-frame")?.decode().catch(() => null);  // its new frame laid out
      root.scrollIntoView();
      const box = root.getBoundingClientRect();
      const height = Math.min(box.height, innerHeight);
      return {{x: box.left + scrollX, y: box.top + scrollY, width: box.width, height}};
    }})()""")
    shot = browser.call("Page.captureScreenshot", session, format="png", clip=dict(box, scale=1))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as file:
        file.write(base64.b64decode(shot["data"]))


def _save_screenshot(browser, session, path):
    """The whole page (up to MAX_SCREENSHOT_HEIGHT px) as a PNG at `path`."""
    size = browser.call("Page.getLayoutMetrics", session)["cssContentSize"]
    # A viewport as tall as the page: capturing beyond a short viewport shifts this theme's layout.
    tall = dict(VIEWPORT, height=int(min(size["height"], MAX_SCREENSHOT_HEIGHT)))
    browser.call("Emulation.setDeviceMetricsOverride", session, **tall)
    shot = browser.call("Page.captureScreenshot", session, format="png")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as file:
        file.write(base64.b64decode(shot["data"]))
