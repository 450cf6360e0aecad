"""The session record format and the headless replay, engine only (no app)."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factormap.engine.attribution.prediction import attribution
from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.interventions.analysis import sensitivity_band
from factormap.engine.interventions.run import EditedRun, intervention_delta
from factormap.engine.interventions.specs import AblateNeurons, RandomDirection, SubtractAtReadout
from factormap.engine.model import save_model
from factormap.engine.replay import NULL_UNAVAILABLE, EditRecipe, replay
from factormap.engine.session import Session
from factormap.engine.session_record import (
    FileIdentity,
    InputMismatch,
    RecordError,
    RecordWriter,
    check_inputs,
    file_identity,
    read_record,
    record_bytes,
    session_header,
)

K = 12


@pytest.fixture
def inputs(tmp_path, random_model, sample_text):
    model = random_model(16, seed=5, scale=1.5)
    model_path, text_path = tmp_path / "m.bin", tmp_path / "t.txt"
    save_model(model, model_path)
    text_path.write_bytes(sample_text)
    from factormap.engine.model import load_model

    return load_model(model_path), sample_text, model_path, text_path


def direction(H: int) -> np.ndarray:
    return np.linspace(-1.0, 1.0, H)


def build_edit(session, action: dict, neuron: int) -> EditRecipe:
    """Row 0: subtract a fixed direction at the readout; 1: ablate the selected neuron; 2: random direction."""
    if action["row"] == 0:
        return EditRecipe(SubtractAtReadout(direction(16), name="d"))
    if action["row"] == 1:
        return EditRecipe(AblateNeurons((neuron,)), band_runs=2, follows_neuron=True)
    return EditRecipe(RandomDirection(0), band_runs=2)


def write_record(path, model_path, text_path, actions) -> None:
    writer = RecordWriter(path, session_header(file_identity(model_path), file_identity(text_path),
                                               precision="float32", K=K))
    for action, fields in actions:
        writer.write(action, **fields)
    writer.close()


ACTIONS = [("move", {"t": 40}), ("edit", {"row": 0, "key": "d", "name": "−d at readout", "on": True}),
           ("neuron", {"neuron": 3}), ("edit", {"row": 1, "key": "a", "name": "ablate h[3]", "on": True}),
           ("move", {"t": 90}), ("traces", {"neurons": [3, 5]}), ("lens", {"lens": "delta_bits"}),
           ("neuron", {"neuron": 4}), ("edit", {"row": 0, "key": "d", "name": "−d at readout", "on": False}),
           ("feature", {"name": "digits", "definition": "digits=[0-9]"})]


def test_file_identity_hashes_the_bytes(inputs):
    _, text, _, text_path = inputs
    identity = file_identity(text_path)
    assert identity.sha256 == hashlib.sha256(text).hexdigest() and identity.bytes == len(text)
    assert identity.name == "t.txt" and identity.path == str(text_path.resolve())


def test_the_record_is_a_header_and_one_json_line_per_action(tmp_path, inputs):
    _, _, model_path, text_path = inputs
    path = tmp_path / "s.jsonl"
    write_record(path, model_path, text_path, ACTIONS)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["format"] == "factormap-session" and lines[0]["tool"]["version"] not in ("", None)
    assert lines[0]["model"]["sha256"] == file_identity(model_path).sha256 and lines[0]["K"] == K
    assert lines[1] == {"i": 1, "action": "move", "t": 40}
    record = read_record(path)
    assert [a["action"] for a in record.actions] == [a for a, _ in ACTIONS]
    assert record.text == file_identity(text_path)
    # never over an existing file
    with pytest.raises(RecordError, match="exists already"):
        write_record(path, model_path, text_path, [])
    assert read_record(path).actions == record.actions


@pytest.mark.parametrize("content, message", [
    (b"", "empty"), (b"{nope\n", "line 1: not JSON"), (b'{"format": "x"}\n', "not a factormap session"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_a_bad_record_is_one_sentence(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(RecordError, match=message):
        read_record(path)


def test_a_record_that_is_not_a_regular_file_is_refused_without_reading(tmp_path):
    import os

    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    for path in (fifo, tmp_path):
        with pytest.raises(RecordError, match="is a regular file; this is not one"):
            read_record(path)


def test_a_bad_action_names_its_line(tmp_path, inputs):
    _, _, model_path, text_path = inputs
    path = tmp_path / "s.jsonl"
    write_record(path, model_path, text_path, [("move", {"t": 1})])
    with open(path, "a") as fh:
        fh.write('{"i": 2, "action": "move", "t": "far"}\n')
    with pytest.raises(RecordError, match=r"line 3: action 'move' needs a field 't' of type int"):
        read_record(path)
    with pytest.raises(RecordError, match="unknown action 'jump'"):
        RecordWriter(tmp_path / "other.jsonl", {}).write("jump", t=1)


def test_other_inputs_are_refused(tmp_path, inputs):
    _, text, model_path, text_path = inputs
    path = tmp_path / "s.jsonl"
    write_record(path, model_path, text_path, [])
    record = read_record(path)
    check_inputs(record, file_identity(model_path), file_identity(text_path))
    other = tmp_path / "other.txt"
    other.write_bytes(text + b"!")
    with pytest.raises(InputMismatch, match="the text .*other.txt .* is not the one this session was recorded on"):
        check_inputs(record, file_identity(model_path), file_identity(other))


def test_replay_gives_the_engines_figures(tmp_path, inputs):
    model, text, model_path, text_path = inputs
    path = tmp_path / "s.jsonl"
    write_record(path, model_path, text_path, ACTIONS)
    result = replay(model, text, read_record(path), build_edit)
    session = Session(model, text)
    # the start and every move: the attribution of the prediction at the cursor
    att = attribution(session, 0, K)
    assert result.start["attribution"]["grad_norm"] == pytest.approx(att.grad_norms.tolist())
    step = result.steps[0]
    assert step["action"] == "move" and step["fields"] == {"t": 40}
    att = attribution(session, 40, K)
    assert step["figures"]["bits"] == float(session.bits_range(40, 41)[0])
    assert step["figures"]["attribution"]["prob"] == pytest.approx(att.prob)
    assert step["figures"]["attribution"]["top_neurons_by_energy"][0]["neuron"] == att.top_neurons(1)[0]
    # the readout edit: ΔBPC, no band (it does not feed the recurrence), the null not available
    readout = SubtractAtReadout(direction(16), name="d")
    edit = result.steps[1]["figures"]["edits"][0]
    assert edit["delta_bpc"] == intervention_delta(session, [readout]).delta_bpc
    assert edit["band"] is None and edit["null_percentile"] is None and edit["null_note"] == NULL_UNAVAILABLE
    assert result.steps[1]["figures"]["delta_bits_at_t"]["0"] == EditedRun(session, [readout]).delta_at(40)
    # the ablation of the selected neuron: ΔBPC with its band, and both together
    ablate = result.steps[3]["figures"]
    expected = intervention_delta(session, [AblateNeurons((3,))]).delta_bpc
    assert ablate["edits"][0]["delta_bpc"] == pytest.approx(expected, abs=1e-12)
    band = sensitivity_band(session, [AblateNeurons((3,))], n=2, value=expected)
    assert ablate["edits"][0]["band"] == {"min": band.min, "max": band.max, "eps": band.eps, "n": 2}
    assert ablate["combined_delta_bpc"] == pytest.approx(
        intervention_delta(session, [readout, AblateNeurons((3,))]).delta_bpc, abs=1e-12)
    # the traces at the cursor, then a new neuron re-runs the ablation
    h = session.states(90, 91)[0]
    assert result.steps[5]["figures"]["traces"] == {"3": float(h[3]), "5": float(h[5])}
    renewed = result.steps[7]["figures"]["edits"][0]
    assert renewed["describe"] == AblateNeurons((4,)).describe()
    # a user feature: its factor-map entry, as the factor map computes it with the feature given
    digits = np.array([1.0 if 48 <= b <= 57 else 0.0 for b in text])
    readout = compute_factor_map(session, features={"digits": digits}).readouts["digits"]
    assert result.steps[9]["figures"]["feature"] == {
        "definition": "digits=[0-9]", "name": "digits", "best_neuron": readout.best_neuron,
        "best_r": readout.best_r, "cov_r": readout.cov_r, "ols_r": readout.ols_r}
    assert result.state.features == {"digits": "digits=[0-9]"}
    # the end: the state and the figures of what is still on
    assert result.state.to_dict()["edits_on"] == [{"row": 1, "name": "ablate h[3]"}]
    assert result.state.t == 90 and result.state.lens == "delta_bits" and result.state.neuron == 4
    assert [e["row"] for e in result.edits] == [1] and result.combined_delta_bpc is None
    json.dumps(result.to_dict(), allow_nan=True)
    session.close()


def test_replay_at_n_stops_after_n_actions(tmp_path, inputs):
    model, text, model_path, text_path = inputs
    path = tmp_path / "s.jsonl"
    write_record(path, model_path, text_path, ACTIONS)
    result = replay(model, text, read_record(path), build_edit, at=2)
    assert [s["action"] for s in result.steps] == ["move", "edit"]
    assert result.state.t == 40 and [e["row"] for e in result.edits] == [0]


def test_a_precision_action_recomputes_in_float64(tmp_path, inputs):
    model, text, model_path, text_path = inputs
    path = tmp_path / "s.jsonl"
    write_record(path, model_path, text_path, [("move", {"t": 7}), ("precision", {"precision": "float64"})])
    result = replay(model, text, read_record(path), build_edit)
    exact = Session(model.astype(np.float64), text)
    assert result.steps[1]["figures"]["position"]["attribution"]["prob"] == attribution(exact, 7, K).prob
    assert result.state.precision == "float64"
    exact.close()


def test_edits_are_rebuilt_from_the_research_table_by_key(tmp_path, inputs):
    from factormap.engine.interventions.directions import random_unit_direction

    model, text, model_path, text_path = inputs
    path = tmp_path / "s.jsonl"
    write_record(path, model_path, text_path, [
        ("edit", {"row": 1, "key": "subtract_at_readout.word_len", "name": "−u_wl at readout", "on": True,
                  "null_n": 3}),
        ("edit", {"row": 3, "key": "random_direction.seed_0", "name": "random dir (seed 0)", "on": True,
                  "band_runs": 2})])
    result = replay(model, text, read_record(path))
    session = Session(model, text)
    u_wl = compute_factor_map(session).readouts["word_len"].cov_direction
    readout = result.steps[0]["figures"]["edits"][0]
    assert readout["delta_bpc"] == intervention_delta(session, [SubtractAtReadout(u_wl)]).delta_bpc
    null = [intervention_delta(session, [SubtractAtReadout(random_unit_direction(seed, 16))]).delta_bpc
            for seed in range(3)]
    below = sum(d < readout["delta_bpc"] for d in null) + 0.5 * sum(d == readout["delta_bpc"] for d in null)
    assert readout["null_percentile"] == pytest.approx(100 * below / 3)
    assert readout["null"]["null_n"] == 3 and readout["null"]["null_mean"] == pytest.approx(np.mean(null))
    random = result.steps[1]["figures"]["edits"][0]
    expected = intervention_delta(session, [RandomDirection(0)]).delta_bpc
    assert random["delta_bpc"] == expected
    band = sensitivity_band(session, [RandomDirection(0)], n=2, value=expected)
    assert (random["band"]["min"], random["band"]["max"]) == (band.min, band.max)
    assert random["null"] is None and random["null_note"] == NULL_UNAVAILABLE
    assert result.combined_delta_bpc == pytest.approx(
        intervention_delta(session, [SubtractAtReadout(u_wl), RandomDirection(0)]).delta_bpc, abs=1e-12)
    with open(path, "a") as fh:
        fh.write(json.dumps({"i": 3, "action": "edit", "row": 9, "key": "nope", "name": "?", "on": True}) + "\n")
    # an edit that cannot be built says why, as its row in the app does, and leaves no total
    failed = replay(model, text, read_record(path))
    assert failed.edits[-1]["row"] == 9 and failed.edits[-1]["error"].startswith(
        "the edit 'nope' is neither one of this engine's research edits nor one of a user feature")
    assert failed.combined_delta_bpc is None and failed.steps[-1]["figures"]["combined_delta_bpc"] is None
    session.close()


def test_a_record_of_another_precision_is_refused(tmp_path, inputs):
    _, _, model_path, text_path = inputs
    path = tmp_path / "s.jsonl"
    header = session_header(file_identity(model_path), file_identity(text_path), precision="float16", K=K)
    path.write_text(json.dumps(header) + "\n")
    with pytest.raises(RecordError, match="'precision' must be one of float32, float64"):
        read_record(path)
    with pytest.raises(RecordError, match="precision must be one of"):
        RecordWriter(tmp_path / "other.jsonl", header).write("precision", precision="half")


def test_a_feature_that_cannot_be_built_here_is_named_not_replayed(tmp_path, inputs):
    model, text, model_path, text_path = inputs
    path = tmp_path / "s.jsonl"
    write_record(path, model_path, text_path, [("feature", {"name": "bad", "definition": "bad=(a"}),
                                               ("feature", {"name": "f", "definition": "f=@/nonexistent/file"})])
    result = replay(model, text, read_record(path), build_edit)
    assert [s["figures"]["note"].startswith("not replayed: ") for s in result.steps] == [True, True]
    assert "/nonexistent/file" in result.steps[1]["figures"]["note"] and result.state.features == {}


def test_a_contrast_target_is_attributed_from_then_on(tmp_path, inputs):
    model, text, model_path, text_path = inputs
    path = tmp_path / "s.jsonl"
    write_record(path, model_path, text_path, [("contrast", {"target": 101}), ("move", {"t": len(text) - 1}),
                                               ("contrast", {"target": -1}), ("contrast", {"target": 1, "against": 2})])
    result = replay(model, text, read_record(path), build_edit)
    session = Session(model, text)
    first = result.steps[0]["figures"]["attribution"]
    assert first["target"] == 101 and first["prob"] == attribution(session, 0, K, target=101).prob
    # at the last byte only a chosen target can be attributed
    assert result.steps[1]["figures"]["attribution"]["target"] == 101
    assert result.steps[2]["figures"]["attribution"] is None
    contrast = result.steps[3]["figures"]["attribution"]  # ln p(1) − ln p(2), as the app attributes it
    expected = attribution(session, len(text) - 1, K, target=1, contrast=2)
    assert (contrast["target"], contrast["contrast"]) == (1, 2) and contrast["grad_norm"] == expected.grad_norms.tolist()
    assert contrast["value"] == expected.value == math.log(expected.prob) - math.log(expected.contrast_prob)
    with pytest.raises(RecordError, match="a contrast's target must be"):
        RecordWriter(tmp_path / "other.jsonl", {}).write("contrast", target=256)
    # written by hand: the next byte against itself at t = 0 is no contrast: a note, not a traceback
    own = tmp_path / "self.jsonl"
    write_record(own, model_path, text_path, [("contrast", {"target": -1, "against": text[1]})])
    (step,) = replay(model, text, read_record(own), build_edit).steps
    assert step["figures"]["note"].startswith("the contrast is not attributed at t = 0")
    assert step["figures"]["attribution"]["target"] == text[1]
    session.close()


def test_the_replay_names_an_edit_with_the_neuron_of_each_moment_and_says_the_next_byte_as_null(tmp_path, inputs):
    """The ablation follows the selected neuron, so its name does too (an older record's template
    ``ablate h[{neuron}]`` included); the next byte's contrast target is null, not -1; and the
    prediction's bits are given once."""
    model, text, model_path, text_path = inputs
    path = tmp_path / "s.jsonl"
    write_record(path, model_path, text_path, [
        ("neuron", {"neuron": 3}),
        ("edit", {"row": 4, "key": "ablate_neuron", "name": "ablate h[{neuron}]", "on": True}),
        ("neuron", {"neuron": 11}), ("move", {"t": 40})])
    result = replay(model, text, read_record(path))
    assert result.steps[1]["figures"]["edits"][0]["name"] == "ablate h[3]"
    assert result.steps[2]["figures"]["edits"][0]["name"] == "ablate h[11]"
    final = result.to_dict()["final"]
    assert final["state"]["edits_on"] == [{"row": 4, "name": "ablate h[11]"}]
    assert [e["name"] for e in final["edits"]] == ["ablate h[11]"]
    assert final["state"]["contrast"] == {"target": None, "against": None}
    assert "bits" in final["position"] and "bits" not in final["position"]["attribution"]


ACTION_ENTRIES = st.one_of(
    st.builds(lambda t: ("move", {"t": t}), st.integers(0, 10**12)),
    st.builds(lambda j: ("neuron", {"neuron": j}), st.integers(0, 4096)),
    st.builds(lambda lens: ("lens", {"lens": lens}), st.text(max_size=12)),
    st.builds(lambda units: ("traces", {"neurons": units}), st.lists(st.integers(0, 4096), max_size=6)),
    st.builds(lambda row, name, on: ("edit", {"row": row, "key": "k", "name": name, "on": on}),
              st.integers(0, 9), st.text(max_size=20), st.booleans()),
    st.builds(lambda name, regex: ("feature", {"name": name, "definition": f"{name}={regex}"}),
              st.text(min_size=1, max_size=8), st.text(max_size=20)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(ACTION_ENTRIES, max_size=12))
def test_a_record_reads_back_the_actions_written_line_by_line_or_at_once(tmp_path_factory, actions):
    folder = tmp_path_factory.mktemp("records")
    identity = FileIdentity(name="m\n.bin", path="/x/m\n.bin", bytes=3, sha256="0" * 64)
    header = session_header(identity, identity, precision="float32", K=K)
    writer = RecordWriter(folder / "lines.jsonl", header)
    for action, fields in actions:
        writer.write(action, **fields)
    writer.close()
    (folder / "whole.jsonl").write_bytes(record_bytes(header, actions))
    assert (folder / "lines.jsonl").read_bytes() == (folder / "whole.jsonl").read_bytes()
    record = read_record(folder / "lines.jsonl")
    assert record.model == identity and record.header == header
    assert [a["i"] for a in record.actions] == list(range(1, len(actions) + 1))
    assert [(a["action"], {k: v for k, v in a.items() if k not in ("i", "action")}) for a in record.actions] == actions


CONTROL_ACTIONS = st.lists(st.one_of(
    st.builds(lambda t: ("move", {"t": t}), st.integers(0, 400)),
    st.builds(lambda j: ("neuron", {"neuron": j}), st.integers(0, 15)),
    st.builds(lambda row, on: ("edit", {"row": row, "key": "k", "name": f"row {row}", "on": on}),
              st.sampled_from([1, 2]), st.booleans()),
), max_size=10)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=CONTROL_ACTIONS)
def test_replay_ends_where_the_actions_lead(tmp_path_factory, inputs, actions):
    model, text, model_path, text_path = inputs
    path = tmp_path_factory.mktemp("records") / "s.jsonl"
    write_record(path, model_path, text_path, actions)
    result = replay(model, text, read_record(path), build_edit)
    # the state the actions leave, followed by hand
    t, neuron, on = 0, 0, set()
    for action, fields in actions:
        if action == "move":
            t = min(fields["t"], len(text) - 1)
        elif action == "neuron":
            neuron = fields["neuron"]
        else:
            (on.add if fields["on"] else on.discard)(fields["row"])
    assert (result.state.t, result.state.neuron, sorted(result.state.edits)) == (t, neuron, sorted(on))
    session = Session(model, text)
    specs = {1: AblateNeurons((neuron,)), 2: RandomDirection(0)}
    assert [e["row"] for e in result.edits] == sorted(on)
    for edit in result.edits:
        assert edit["delta_bpc"] == pytest.approx(intervention_delta(session, [specs[edit["row"]]]).delta_bpc,
                                                  abs=1e-12)
    if len(on) == 2:
        assert result.combined_delta_bpc == pytest.approx(
            intervention_delta(session, [specs[1], specs[2]]).delta_bpc, abs=1e-12)
    assert result.position["t"] == t
    session.close()


def test_an_edit_along_a_user_features_direction_is_rebuilt_from_its_definition(tmp_path, inputs):
    model, text, model_path, text_path = inputs
    path = tmp_path / "s.jsonl"
    edit = {"row": 6, "key": "subtract_at_readout.digits", "name": "−u_digits at readout", "on": True, "null_n": 2}
    write_record(path, model_path, text_path, [("edit", edit),
                                               ("feature", {"name": "digits", "definition": "digits=[0-9]"}),
                                               ("edit", edit), ("feature_removed", {"name": "digits"}),
                                               ("edit", {**edit, "on": False}), ("edit", edit)])
    result = replay(model, text, read_record(path))
    session = Session(model, text)
    digits = np.array([1.0 if 48 <= b <= 57 else 0.0 for b in text])
    u = compute_factor_map(session, {"digits": digits}).readouts["digits"].cov_direction
    before, during, after = (result.steps[i]["figures"]["edits"][0] for i in (0, 2, 5))
    assert "error" in before and "error" in after  # no such feature yet / any more
    assert during["delta_bpc"] == intervention_delta(session, [SubtractAtReadout(u)]).delta_bpc
    assert during["null"]["null_n"] == 2 and during["band"] is None
    session.close()
