"""Can a person operate every control on the screen: by finger, and by screen reader?

``problems(page, lang)`` reads what a phone would offer a person right now — Flutter's
semantics tree (the ``flt-semantics`` nodes Flutter's web engine writes into the DOM) and
the controls inside embedded pages (the map's iframe) — and returns one sentence per
control that breaks a rule. An empty list is the pass.

What counts as a control (interactive):
- a Flutter node with an operable role (button, tab, link, checkbox, radio, switch, slider,
  textbox, combobox, menuitem), a tap action (``flt-tappable``), a state a person toggles
  (``aria-checked``/``-pressed``/``-expanded``/``-haspopup``), or a text box (an
  ``input``/``textarea`` child: Flutter puts a text field's label on that element and
  gives the node itself no role);
- in an embedded page: links, buttons, form fields and elements with an operable role.
Nodes hidden from assistive technology (``aria-hidden``) are not controls. A node that
only wraps another control of the same size (``ft.Semantics(identifier=..., button=True)``
around a button makes two nodes, one inside the other) is left to the inner one.

The rules:
1. A control has a label: what a screen reader reads out, as Chromium computes it — its
   ``aria-label``, else (for roles named by their content) the text inside it; a text box
   by the label on its ``input``. A tooltip does NOT name its button: Flutter puts it on a
   wrapper around it (``ft.MergeSemantics`` joins the two), and an icon without a word is
   read out as just "button".
2. The label is in the UI's language.
   - Chinese UI: the label holds a CJK character, or is a number or an id (a phone number,
     an amount, a credit code: it has a digit and no English word). No English word: a
     run of two or more Latin letters in a token without a digit ("Tab 1 of 5", "km",
     "Back"). A token with a digit is an id ("91520300MA6DYBQJ3C", "M0001"). A single
     letter is a grade or an initial ("A级"). Flutter's own English ("Tab 1 of 5", a
     tooltip's "Back") gets a hint: the page's locale is not Chinese.
   - English UI: no CJK character, except inside the bank's own data — ``names``, the
     names of companies, people, outlets, batches, products, industries, tags and
     addresses, which the bank keeps in Chinese and the UI shows as they are. The label
     holds a letter or a digit.
   - Either UI: a language's own name (中文, English) on a language switch.
3. A control is at least 48 × 48 CSS px (0.5 px tolerance for rounding). A control
   scrolled fully out of its scroll view (or the window) is not measured; one cut by the
   edge of a scroll view is measured only across that edge (Flutter reports the visible
   part of it). Map markers are exempt: where a marker sits is what it says, and a
   cluster's bubble grows with its count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MIN_TOUCH_PX = 48
TOLERANCE_PX = 0.5
INTERACTIVE_ROLES = (
    "button",
    "tab",
    "link",
    "checkbox",
    "radio",
    "switch",
    "slider",
    "textbox",
    "combobox",
    "menuitem",
    "menuitemcheckbox",
    "menuitemradio",
    "option",
    "searchbox",
    "spinbutton",
)
# a language's own name, the one word of another language a language switch shows
AUTONYMS = {"zh": {"English"}, "en": {"中文", "简体中文"}}
CJK = re.compile(
    r"[\u2e80-\u2fdf\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+"
)
# a token: letters and digits, with the joiners ids and numbers use
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+\-]*")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Flutter's own English, when the page's locale is not the UI's language
FLUTTER_ENGLISH = re.compile(
    r"Tab \d+ of \d+|\b(Back|Close|Show password|Hide password|Search|Clear|Dismiss|More"
    r"|Show menu|Open navigation menu|Select all|Copy|Cut|Paste|Next month|Previous month"
    r"|Collapse|Expand|Delete|Cancel|OK)\b"
)


@dataclass(frozen=True)
class Control:
    """One control as the page exposes it (CSS px, window coordinates)."""

    role: str
    label: str
    identifier: str
    x: float
    y: float
    width: float
    height: float
    off_screen: bool  # scrolled fully out of its scroll view or the window
    cut_across: bool  # its width is cut by a scroll view's left or right edge
    cut_down: bool  # its height is cut by a scroll view's top or bottom edge
    marker: bool  # a map marker
    frame: str  # "" for Flutter's tree, else the embedded page's address

    def describe(self) -> str:
        name = f"[{self.identifier}] " if self.identifier else ""
        where = f" in {self.frame}" if self.frame else ""
        label = self.label if len(self.label) <= 60 else self.label[:57] + "…"
        return (
            f"{self.role} {name}{label!r} at ({self.x:.0f},{self.y:.0f}) "
            f"{self.width:.0f}×{self.height:.0f} px{where}"
        )


_COLLECT_JS = """(roles) => {
  const ROLES = new Set(roles);
  const NAMED_BY_CONTENT = new Set(['button', 'tab', 'link', 'checkbox', 'radio', 'switch',
    'menuitem', 'menuitemcheckbox', 'menuitemradio', 'option', '']);
  const STATES = ['aria-checked', 'aria-pressed', 'aria-expanded', 'aria-haspopup'];
  const box = (e, dx = 0, dy = 0) => { const r = e.getBoundingClientRect();
    return {l: r.left + dx, t: r.top + dy, r: r.right + dx, b: r.bottom + dy}; };
  const meet = (a, c) => ({l: Math.max(a.l, c.l), t: Math.max(a.t, c.t),
                           r: Math.min(a.r, c.r), b: Math.min(a.b, c.b)});
  const hidden = e => !!e.closest('[aria-hidden="true"]');
  const text = e => {  // the name a screen reader computes from content
    if (e.nodeType === 3) return e.textContent;
    if (e.nodeType !== 1 || e.getAttribute('aria-hidden') === 'true') return '';
    if (['INPUT', 'TEXTAREA', 'SELECT', 'SCRIPT', 'STYLE'].includes(e.tagName)) return '';
    const own = e.getAttribute('aria-label') || (e.tagName === 'IMG' ? e.alt : '');
    if (own) return own;
    return [...e.childNodes].map(text).filter(s => s.trim()).join(' ');
  };
  // a scroll view, and the axes it scrolls along (the edges content leaves it by)
  // (Flutter sets overflow-x or -y to scroll; the other axis then computes to auto)
  const scrolls = e => {
    const cs = getComputedStyle(e);
    return {x: cs.overflowX === 'scroll', y: cs.overflowY === 'scroll'};
  };
  const out = [];
  // clips: [rect, {x, y}] of the window and each scroll view or frame around the control
  const add = (e, role, label, identifier, rect, clips, marker, frame) => {
    let seen = rect;
    for (const [c] of clips) seen = meet(seen, c);
    const off = seen.r - seen.l <= 0.5 || seen.b - seen.t <= 0.5;
    const near = (a, b) => Math.abs(a - b) <= 1;
    const cutAcross = clips.some(([c, s]) => s.x && (near(rect.l, c.l) || near(rect.r, c.r)));
    const cutDown = clips.some(([c, s]) => s.y && (near(rect.t, c.t) || near(rect.b, c.b)));
    out.push({role, label: (label || '').trim(), identifier: identifier || '',
              x: rect.l, y: rect.t, width: rect.r - rect.l, height: rect.b - rect.t,
              off_screen: off, cut_across: cutAcross, cut_down: cutDown, marker, frame});
  };
  const win = [{l: 0, t: 0, r: window.innerWidth, b: window.innerHeight}, {x: false, y: false}];

  // Flutter's semantics tree
  const nodes = [...document.querySelectorAll('flt-semantics')];
  const field = e => e.querySelector(':scope > input, :scope > textarea');
  const interactive = e => !hidden(e) && (ROLES.has(e.getAttribute('role'))
    || e.hasAttribute('flt-tappable') || !!field(e) || STATES.some(a => e.hasAttribute(a)));
  const same = (a, b) => ['l', 't', 'r', 'b'].every(k => Math.abs(a[k] - b[k]) <= 1);
  for (const e of nodes) {
    if (!interactive(e)) continue;
    const rect = box(e);
    const input = field(e);
    if (!e.hasAttribute('flt-tappable') && !input && [...e.querySelectorAll('flt-semantics')]
          .some(d => interactive(d) && same(box(d), rect))) continue;  // a wrapper
    const role = e.getAttribute('role') || (input ? 'textbox' : 'tappable');
    let label = e.getAttribute('aria-label') || '';
    if (input) label = input.getAttribute('aria-label') || label;
    else if (!label && NAMED_BY_CONTENT.has(e.getAttribute('role') || '')) label = text(e);
    const clips = [win];
    for (let a = e.parentElement; a; a = a.parentElement) {
      const axes = a.tagName === 'FLT-SEMANTICS' ? scrolls(a) : {x: false, y: false};
      if (axes.x || axes.y) clips.push([box(a), axes]);
    }
    let id = e.getAttribute('flt-semantics-identifier');  // or its wrapper's
    for (let a = e.parentElement; !id && a && a.tagName === 'FLT-SEMANTICS' && same(box(a), rect);
         a = a.parentElement) id = a.getAttribute('flt-semantics-identifier');
    add(e, role, label, id, rect, clips, false, '');
  }

  // embedded pages (the map): the controls inside them
  const SELECTOR = 'a[href], button, input:not([type=hidden]), select, textarea, '
    + roles.map(r => `[role="${r}"]`).join(', ');
  for (const f of document.querySelectorAll('iframe')) {
    const fr = box(f);
    let doc = null;
    try { doc = f.contentDocument; } catch (err) { doc = null; }
    if (!doc) { out.push({unreadable: f.src}); continue; }
    for (const e of doc.querySelectorAll(SELECTOR)) {
      if (hidden(e)) continue;
      const rect = box(e, fr.l, fr.t);
      if (rect.r - rect.l === 0 && rect.b - rect.t === 0) continue;  // not rendered
      const role = e.getAttribute('role') || e.tagName.toLowerCase();
      let label = e.getAttribute('aria-label') || e.getAttribute('alt') || '';
      if (!label && e.labels && e.labels.length) label = text(e.labels[0]);
      if (!label && !e.matches('input, select, textarea')) label = text(e);
      if (!label) label = e.getAttribute('title') || e.getAttribute('placeholder') || '';
      add(e, role, label, e.id, rect, [win, [fr, {x: true, y: true}]],
          e.matches('.leaflet-marker-icon'),
          f.src.split('?')[0].split('/').pop() || 'iframe');
    }
  }
  return out;
}"""


def controls(page) -> tuple[list[Control], list[str]]:  # type: ignore[no-untyped-def]
    """Every control on the page now, and the embedded pages the check cannot read."""
    found = page.evaluate(_COLLECT_JS, list(INTERACTIVE_ROLES))
    unreadable = [
        f"an embedded page the check cannot read: {c['unreadable']}"
        for c in found
        if "unreadable" in c
    ]
    return [Control(**c) for c in found if "unreadable" not in c], unreadable


def label_problem(label: str, lang: str, names: Iterable[str] = ()) -> str | None:
    """Why ``label`` is not a label in ``lang`` (rules 1 and 2), or None."""
    text = " ".join(label.split())
    if not text:
        return "no label (a screen reader says only its role)"
    if text in AUTONYMS.get(lang, set()):
        return None
    if lang == "zh":
        return _not_chinese(text, names)
    return _not_english(text, names)


def _not_chinese(text: str, names: Iterable[str]) -> str | None:
    english = _english_words(text)
    if english:  # a name in the bank's data may hold Latin letters: look again without them
        english = _english_words(_without(text, names))
    if english:
        flutter = FLUTTER_ENGLISH.search(text)
        if flutter:
            return (
                f"Flutter's own English in the Chinese UI ({flutter.group(0)!r}):"
                " the page's locale is not Chinese"
            )
        return f"English in the Chinese UI ({', '.join(english)})"
    if not CJK.search(text) and not re.search(r"\d", text):
        return "no Chinese word, number or id in its label"
    return None


def _not_english(text: str, names: Iterable[str]) -> str | None:
    runs = CJK.findall(text)
    if runs:
        known = "\n".join(names)
        stray = [run for run in runs if run not in known]
        if stray:
            return f"Chinese in the English UI ({', '.join(stray)})"
    if not re.search(r"[A-Za-z0-9]", text) and not runs:
        return "no English word, number or id in its label"
    return None


def _english_words(text: str) -> list[str]:
    """The tokens of ``text`` that are English words: Latin letters, no digit."""
    return [
        token
        for token in TOKEN.findall(text)
        if not re.search(r"\d", token) and LATIN_WORD.search(token)
    ]


def _without(text: str, names: Iterable[str]) -> str:
    for name in sorted((n for n in names if n and n in text), key=len, reverse=True):
        text = text.replace(name, " ")
    return text


def size_problem(control: Control) -> str | None:
    """Why ``control`` is too small for a finger (rule 3), or None."""
    if control.off_screen or control.marker:
        return None
    least = MIN_TOUCH_PX - TOLERANCE_PX
    narrow = control.width < least and not control.cut_across
    short = control.height < least and not control.cut_down
    if narrow or short:
        return f"under {MIN_TOUCH_PX}×{MIN_TOUCH_PX} px"
    return None


def problems(page, lang: str, names: Iterable[str] = (), *, sizes: bool = True) -> list[str]:  # type: ignore[no-untyped-def]
    """One sentence per control on ``page`` without a label in ``lang`` or (``sizes``: on a
    phone) too small for a finger; ``names``: the bank's data shown as it is."""
    names = list(names)
    found, unreadable = controls(page)
    out = list(unreadable)
    for control in found:
        size = size_problem(control) if sizes else None
        wrong = [p for p in (label_problem(control.label, lang, names), size) if p]
        if wrong:
            out.append(f"{control.describe()}: {'; '.join(wrong)}")
    return out
