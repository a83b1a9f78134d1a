// The book's explorers (book/_helpers.py `explorer`): HTML controls over frames and texts that minigrad
// computed when the book was built. This script only looks them up: it computes nothing of the figure.
// Each .explorer holds a JSON script: controls [{name, labels}], states [[value index per control]],
// frames (base64 PNG), texts (HTML) and shown [[frame index or -1, text index] per state]; state 0 is the base.
(() => {
  "use strict";

  function wire(root) {
    const data = JSON.parse(root.querySelector("script.explorer-data").textContent);
    const inputs = Array.from(root.querySelectorAll("[data-control]"));
    const values = Array.from(root.querySelectorAll(".explorer-value"));
    const image = root.querySelector("img.explorer-frame");
    const text = root.querySelector(".explorer-text");
    const byKey = new Map(data.states.map((state, index) => [state.join(","), index]));
    const base = data.states[0];
    let current = base.slice();

    // A setting outside the grid: the computed state with the moved control's value that keeps the most
    // other controls where they are, then the most at the base setting.
    function nearest(moved, wanted) {
      let best = -1, bestScore = -1;
      data.states.forEach((state, index) => {
        if (state[moved] !== wanted[moved]) return;
        let kept = 0, atBase = 0;
        state.forEach((value, control) => {
          if (control !== moved && value === wanted[control]) kept += 1;
          if (value === base[control]) atBase += 1;
        });
        const score = kept * (state.length + 1) + atBase;
        if (score > bestScore) [best, bestScore] = [index, score];
      });
      return best;
    }

    function show(index) {
      current = data.states[index].slice();
      current.forEach((value, control) => {
        inputs[control].value = String(value);
        values[control].textContent = data.controls[control].labels[value];
      });
      const [frame, shownText] = data.shown[index];
      if (image) {
        image.hidden = frame < 0;
        if (frame >= 0) image.src = "data:image/png;base64," + data.frames[frame];
      }
      text.innerHTML = data.texts[shownText];
      root.dataset.state = String(index);
    }

    function moved(control) {
      const wanted = current.slice();
      wanted[control] = Number(inputs[control].value);
      const index = byKey.get(wanted.join(","));
      show(index !== undefined ? index : nearest(control, wanted));
    }

    inputs.forEach((input, control) => {
      input.addEventListener("input", () => moved(control));
      input.addEventListener("change", () => moved(control));
    });
    show(0);
    root.querySelector(".explorer-controls").hidden = false;
    root.querySelector(".explorer-static")?.remove();
  }

  function wireAll() {
    document.querySelectorAll(".explorer").forEach(wire);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wireAll);
  else wireAll();
})();
