"""Every key of the explorer, with its description and a stable id (used by help and the palette).

Actions are parametrised (``step(+1)``); prefixes (a count, ``g``, ``m``, ``'``) are completed by
the next key. The README's key table lists the same bindings.
"""

from __future__ import annotations

from textual.binding import Binding

from factormap.tui.motions import SEARCH_ESCAPES

MOTION = Binding.Group("move")
"""Footer group of the cursor motions."""
PREFIX_KEYS = "gm'i"
"""Keys that start a two-key command, completed by the next key (``gg``, ``ma``, ``'a``, ``i1``)."""

EXPLORER_BINDINGS: list[Binding] = [
    Binding("h,left", "step(-1)", "←byte", tooltip="One byte back (with a count: 10h)", id="step-back"),
    Binding("l,right", "step(+1)", "byte→", tooltip="One byte forward (with a count: 10l)", id="step-forward"),
    Binding("w", "word('w')", "word", tooltip="Start of the next word", id="word-forward", show=False),
    Binding("b", "word('b')", "back word", tooltip="Start of this or the previous word", id="word-back",
            show=False),
    Binding("e", "word('e')", "word end", tooltip="End of this or the next word", id="word-end", show=False),
    Binding("dollar_sign", "line_end", "line end", tooltip="Last byte of the line", id="line-end",
            key_display="$", show=False),
    Binding("g", "prefix('g')", "gg start", tooltip="gg: start of the text (5gg: position 5)", id="go-start",
            show=False),
    Binding("G", "go_end", "end", tooltip="End of the text (5G: position 5)", id="go-end", show=False),
    Binding("ctrl+d", "rows(+0.5)", "½ page↓", tooltip="Half a page down", id="half-page-down", show=False),
    Binding("ctrl+u", "rows(-0.5)", "½ page↑", tooltip="Half a page up", id="half-page-up", show=False),
    Binding("ctrl+f,pagedown", "rows(+1)", "page↓", tooltip="A page down", id="page-down", show=False),
    Binding("ctrl+b,pageup", "rows(-1)", "page↑", tooltip="A page up", id="page-up", show=False),
    Binding("slash", "prompt('/')", "search", tooltip=f"Search the text (escapes: {SEARCH_ESCAPES})", id="search",
            key_display="/"),
    Binding("n", "search_next(+1)", "next match", tooltip="Next match of the search", id="search-next",
            show=False),
    Binding("N", "search_next(-1)", "prev match", tooltip="Previous match of the search", id="search-prev",
            show=False),
    Binding("colon", "prompt(':')", "go to", id="goto", key_display=":", show=False,
            tooltip="The : prompt: :123 goes to position 123; :write, :record, :target, :feature... (each in the help)"),
    Binding("j", "neuron(+1)", "neuron+", tooltip="Select the next neuron", id="neuron-next"),
    Binding("k", "neuron(-1)", "neuron−", tooltip="Select the previous neuron", id="neuron-prev", show=False),
    Binding("a", "scope('add')", "add trace", tooltip="Add the selected neuron to the oscilloscope",
            id="scope-add"),
    Binding("x", "scope('remove')", "drop trace", tooltip="Remove the selected neuron from the oscilloscope",
            id="scope-remove", show=False),
    Binding("right_square_bracket", "jump(+1)", "next high", key_display="]", id="jump-next",
            tooltip="Next position of high surprisal (top 2% of bits), or of high Δbits under that lens"),
    Binding("left_square_bracket", "jump(-1)", "prev high", key_display="[", id="jump-prev", show=False,
            tooltip="Previous position of high surprisal, or of high Δbits under that lens"),
    Binding("v", "cycle_lens", "lens", tooltip="Cycle the lens: surprisal, activation, attribution, Δbits",
            id="cycle-lens"),
    Binding("c", "attribution_mode", "‖g‖/a_k", id="attribution-mode", show=False,
            tooltip="Cycle what the attribution pane and lens show: ‖g_k‖, a_k, exact a_k, the selected "
                    "unit's g_k[j] with the top units' heat map (j/k then move through it)"),
    *(Binding(str(d), f"digit({d})", f"count {d}", show=False, id=f"digit-{d}",
              tooltip=f"Count prefix; toggles intervention {d} when the interventions pane has focus (i{d} anywhere)"
              if d else "Count prefix, or the start of the line (0)")
      for d in range(10)),
    Binding("i", "prefix('i')", "edits", key_display="iN", id="toggle-edit",
            tooltip="iN: switch intervention N on or off, from any pane (i1: −u_wl every step; "
                    "the pane's title gives the N there are)"),
    Binding("m", "prefix('m')", "mark", tooltip="m{a-zA-Z}: set a mark at the cursor", id="mark-set", show=False),
    Binding("apostrophe", "prefix(\"'\")", "to mark", key_display="'", id="mark-jump", show=False,
            tooltip="'{a-zA-Z}: jump to a mark ('' back to before the last jump)"),
    Binding("E", "export", "export", tooltip="Export (save) the view's states, bits and attribution to a new .npz",
            id="export"),
    Binding("D", "dashboard", "dashboard", id="dashboard", show=False,
            tooltip="Open the dashboard of whole-text charts; enter on a bar or point jumps to its position"),
    Binding("I", "inspect", "inspect", id="inspect", show=False,
            tooltip="Inspect the selected neuron over the whole text (top and bottom positions, histogram, "
                    "causal cost); enter on a position jumps there"),
    Binding("z", "zoom", "zoom", tooltip="Maximise the focused pane (z or escape restores)", id="zoom"),
    Binding("escape", "cancel", "cancel", tooltip="Cancel a pending count or prefix", id="cancel", show=False),
    Binding("question_mark,f1", "help", "help", key_display="?", tooltip="Every key, with what it does (F1 too)",
            id="help"),
    Binding("q", "app.quit", "quit", tooltip="Quit (ctrl+c too)", id="quit"),
]
"""The explorer's bindings (tab / shift+tab cycle focus, ctrl+p opens the command palette)."""
