"""Span decoding (core.qa.span / core.qa.answer_with_bundle) on tiny random models.

Each architecture family gets a tiny randomly initialised model and a tokenizer built
here with the `tokenizers` library (WordPiece for BERT/DistilBERT, byte-level BPE for
RoBERTa, a SentencePiece-style Unigram for XLM-R), saved to a temporary folder and
loaded back with the transformers fast tokenizer class. The real model runs; a forward
hook on its ``qa_outputs`` layer replaces the logits with values chosen by the test,
so the real encoding, batching and decoding code is what is checked.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

from core import registry
from core.loaders import ModelBundle, QueuedLock
from core.qa import answer_with_bundle
from core.qa.span import decode_spans, encode_windows

EN_WORDS = (
    "the a an is was in of by and to who what when where which tower designed built gustave eiffel paris "
    "france city love big it i 1887 1889 2024 answer question filler word text long passage here there "
    "name engineer company fair year world capital river rhine flows through germany"
).split()
CJK = "人工智能是计算机科学的一个分支什么谁在哪里年北京上海首都中国长城河流经过"
CORPUS = [
    "The tower was designed by Gustave Eiffel in 1887. Paris is a big city. I love Paris.",
    "人工智能是计算机科学的一个分支。北京是中国的首都。长城在中国。",
    "Who designed the tower? 谁设计了它？ 🗼 ❤️ emoji 2024 filler word text long passage.",
    "The Rhine river flows through Germany. What is the capital of France? Paris.",
] * 10
SPECIALS_BERT = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SPECIALS_ROBERTA = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def _wordpiece_tokenizer(tmp_path, cls: type) -> transformers.PreTrainedTokenizerBase:
    chars = sorted(
        {c for text in CORPUS for c in text if not c.isspace()} | set("abcdefghijklmnopqrstuvwxyz0123456789")
    )
    vocab = SPECIALS_BERT + EN_WORDS + chars + ["##" + c for c in chars if c.isascii()]
    vocab = list(dict.fromkeys(vocab))
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.BertProcessing(("[SEP]", vocab.index("[SEP]")), ("[CLS]", vocab.index("[CLS]")))
    tok.decoder = decoders.WordPiece()
    fast = cls(
        tokenizer_object=tok,
        unk_token="[UNK]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        mask_token="[MASK]",
    )
    fast.save_pretrained(tmp_path)
    return transformers.AutoTokenizer.from_pretrained(tmp_path)


def _bpe_tokenizer(tmp_path) -> transformers.PreTrainedTokenizerBase:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=SPECIALS_ROBERTA, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")), trim_offsets=True, add_prefix_space=False
    )
    fast = transformers.RobertaTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
    )
    fast.save_pretrained(tmp_path)
    return transformers.AutoTokenizer.from_pretrained(tmp_path)


def _unigram_tokenizer(tmp_path) -> transformers.PreTrainedTokenizerBase:
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=300,
        special_tokens=SPECIALS_ROBERTA,
        unk_token="<unk>",
        initial_alphabet=sorted(set("".join(CORPUS))),
    )
    tok.train_from_iterator(CORPUS, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))],
    )
    fast = transformers.XLMRobertaTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
    )
    fast.save_pretrained(tmp_path)
    return transformers.AutoTokenizer.from_pretrained(tmp_path)


_TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37)


def _model(family: str, vocab_size: int, pad_id: int) -> torch.nn.Module:
    torch.manual_seed(0)
    if family == "bert":
        cfg = transformers.BertConfig(vocab_size=vocab_size, max_position_embeddings=512, pad_token_id=pad_id, **_TINY)
        return transformers.BertForQuestionAnswering(cfg).eval()
    if family == "distilbert":
        cfg = transformers.DistilBertConfig(
            vocab_size=vocab_size,
            dim=32,
            n_layers=2,
            n_heads=2,
            hidden_dim=37,
            max_position_embeddings=512,
            pad_token_id=pad_id,
        )
        return transformers.DistilBertForQuestionAnswering(cfg).eval()
    cfg_cls = transformers.RobertaConfig if family == "roberta" else transformers.XLMRobertaConfig
    cfg = cfg_cls(vocab_size=vocab_size, max_position_embeddings=520, pad_token_id=pad_id, **_TINY)
    model_cls = (
        transformers.RobertaForQuestionAnswering if family == "roberta" else transformers.XLMRobertaForQuestionAnswering
    )
    return model_cls(cfg).eval()


class HandLogits:
    """Replaces a QA model's logits: ``rule(input_ids) -> (start, end)`` per window."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.rule = None
        self.ids: torch.Tensor | None = None
        self.calls = 0
        model.register_forward_pre_hook(self._grab, with_kwargs=True)
        model.qa_outputs.register_forward_hook(self._replace)

    def _grab(self, module, args, kwargs):
        self.ids = kwargs.get("input_ids", args[0] if args else None)
        self.calls += 1

    def _replace(self, module, inputs, output):
        if self.rule is None:
            return output
        out = torch.full_like(output, -10.0)
        for w in range(self.ids.shape[0]):
            start, end = self.rule(self.ids[w].tolist())
            out[w, :, 0] = torch.as_tensor(start, dtype=out.dtype)
            out[w, :, 1] = torch.as_tensor(end, dtype=out.dtype)
        return out


FAMILIES = {
    "bert": ("bert", lambda p: _wordpiece_tokenizer(p, transformers.BertTokenizerFast), "qa-distilbert-squad"),
    "distilbert": (
        "distilbert",
        lambda p: _wordpiece_tokenizer(p, transformers.DistilBertTokenizerFast),
        "qa-distilbert-squad",
    ),
    "roberta": ("roberta", _bpe_tokenizer, "qa-roberta-squad2"),
    "xlmr": ("xlmr", _unigram_tokenizer, "qa-xlmr-squad2"),
}


@pytest.fixture(scope="module", params=list(FAMILIES))
def tiny(request, tmp_path_factory):
    family, make_tok, key = FAMILIES[request.param]
    tok = make_tok(tmp_path_factory.mktemp(request.param))
    model = _model(family, len(tok), tok.pad_token_id)
    hand = HandLogits(model)
    bundle = ModelBundle(
        key=key,
        entry=registry.get(key),
        model=model,
        preprocessor=tok,
        device=torch.device("cpu"),
        dtype=torch.float32,
        lock=QueuedLock(),
        load_seconds=0.0,
        attention=False,
        meta={},
    )
    hand.rule = None
    return request.param, tok, bundle, hand


def _ask(
    bundle,
    hand,
    question: str,
    context: str,
    spans: list[tuple[int, int, float]],
    *,
    top_k: int = 3,
    can_abstain: bool = False,
    null: float | None = None,
):
    """Answer with hand-set logits: for each ``(start_char, end_char, value)`` the token starting at
    ``start_char`` gets start logit ``value`` and the token ending at ``end_char`` end logit ``value``
    (located through the tokenizer's offsets of each window); ``null`` sets the CLS logits."""
    win = encode_windows(bundle.preprocessor, question, context)
    by_ids = {tuple(int(x) for x in win.inputs["input_ids"][w]): w for w in range(win.count)}

    def rule(ids):
        w = by_ids[tuple(ids)]
        n = len(ids)
        start, end = np.full(n, -10.0), np.full(n, -10.0)
        for a, b, value in spans:
            for i in range(n):
                if not win.is_context[w, i]:
                    continue
                s, e = win.offsets[w, i]
                if s <= a < e or (s == a):
                    start[i] = max(start[i], value)
                if s < b <= e:
                    end[i] = max(end[i], value)
        if null is not None:
            start[win.cls_index[w]] = null
            end[win.cls_index[w]] = null
        return start, end

    hand.rule = rule
    try:
        # every window (read_windows=None): these tests are about decoding across all of them
        return answer_with_bundle(
            bundle, question, context, top_k=top_k, can_abstain=can_abstain, read_windows=None
        ), win
    finally:
        hand.rule = None


def _check_contract(result, context):
    for a in result.answers:
        assert context[a.start : a.end] == a.text
        assert a.text.strip() == a.text and a.text
        assert 0.0 <= a.score <= 1.0
        assert a.kind == "span"
    scores = [a.score for a in result.answers]
    assert scores == sorted(scores, reverse=True)
    for i, a in enumerate(result.answers):
        for b in result.answers[i + 1 :]:
            assert a.end <= b.start or b.end <= a.start, "answers overlap"


def test_exact_offsets_english(tiny):
    name, tok, bundle, hand = tiny
    context = "The tower was designed by Gustave Eiffel in 1887."
    a = context.index("Gustave")
    b = a + len("Gustave Eiffel")
    result, win = _ask(bundle, hand, "Who designed the tower?", context, [(a, b, 10.0)])
    _check_contract(result, context)
    assert (result.answers[0].start, result.answers[0].end) == (a, b)
    assert result.answers[0].text == "Gustave Eiffel"
    assert result.answers[0].score > 0.9
    assert result.windows == 1


def test_cut_english_words_are_widened_but_cjk_is_not(tiny):
    name, tok, bundle, hand = tiny
    context = "It was the tallest structure until the Chrysler Building. 北京是中国的首都。"
    a = context.index("until") + 2  # "til the Chry" cuts two words
    b = context.index("Chrysler") + 4
    result, _ = _ask(bundle, hand, "Until when?", context, [(a, b, 10.0)])
    _check_contract(result, context)
    assert result.answers[0].text == "until the Chrysler"
    a = context.index("中国")
    result, win = _ask(bundle, hand, "哪里？", context, [(a, a + 1, 10.0)])
    covering = [tuple(o) for o, c in zip(win.offsets[0], win.is_context[0]) if c and o[0] <= a < o[1]]
    assert len(covering) == 1
    s, e = covering[0]
    # exactly the token's own characters (中 or 中国, as the tokenizer cut it), never the CJK run
    assert (result.answers[0].start, result.answers[0].end) == (s, e) and e - s <= 2


def test_second_occurrence_is_not_found_by_string_search(tiny):
    name, tok, bundle, hand = tiny
    context = "Paris is a big city. I love Paris."
    second = context.rindex("Paris")
    result, _ = _ask(bundle, hand, "Which city?", context, [(second, second + 5, 10.0)])
    _check_contract(result, context)
    assert result.answers[0].start == second and result.answers[0].text == "Paris"


def test_chinese_span_not_widened(tiny):
    name, tok, bundle, hand = tiny
    context = "人工智能是计算机科学的一个分支。北京是中国的首都。"
    a = context.index("计算机科学")
    result, _ = _ask(bundle, hand, "什么是人工智能？", context, [(a, a + 5, 10.0)])
    _check_contract(result, context)
    assert result.answers[0].text == "计算机科学"
    assert (result.answers[0].start, result.answers[0].end) == (a, a + 5)


def test_emoji_before_and_as_answer(tiny):
    name, tok, bundle, hand = tiny
    context = "I ❤️ the 🗼 tower in Paris 2024 🗼!"
    a = context.index("Paris")
    result, _ = _ask(bundle, hand, "Where?", context, [(a, a + len("Paris 2024"), 10.0)])
    _check_contract(result, context)
    assert result.answers[0].text == "Paris 2024"
    e = context.index("🗼")
    result, _ = _ask(bundle, hand, "Which emoji?", context, [(e, e + 1, 10.0)], top_k=5)
    _check_contract(result, context)
    assert result.answers[0].text == "🗼" and result.answers[0].start == e
    assert [x.start for x in result.answers].count(e) == 1  # byte pieces of one emoji merged


def _long_context(n_sentences: int = 120) -> str:
    rng = random.Random(1)
    filler = ["filler word text long passage here.", "the city is big and the river flows.", "a year in the world."]
    return " ".join(rng.choice(filler).capitalize() for _ in range(n_sentences))


def test_windows_are_merged_on_one_scale(tiny):
    name, tok, bundle, hand = tiny
    base = _long_context()
    context = (
        base[: len(base) // 2] + " Gustave Eiffel designed it. " + base[len(base) // 2 :] + " Paris is the answer."
    )
    a = context.index("Gustave Eiffel")
    p = context.rindex("Paris")
    result, win = _ask(
        bundle,
        hand,
        "Who designed the tower?",
        context,
        [(a, a + len("Gustave Eiffel"), 6.0), (p, p + 5, 8.0)],
        top_k=3,
    )
    assert win.count >= 3, "the passage needs several windows"
    assert result.windows == win.count
    _check_contract(result, context)
    # the stronger logits win, wherever their window is; both appear once
    assert [x.text for x in result.answers[:2]] == ["Paris", "Gustave Eiffel"]
    assert sum(x.score for x in result.answers) <= 1.0 + 1e-6
    ratio = result.answers[0].score / result.answers[1].score
    assert ratio == pytest.approx(np.exp(2 * (8.0 - 6.0)), rel=1e-3)  # one softmax over all windows


def test_answer_in_overlap_of_two_windows_is_reported_once(tiny):
    name, tok, bundle, hand = tiny
    base = _long_context(200)
    probe = encode_windows(tok, "Who designed the tower?", base)
    assert probe.count >= 2
    # a character position seen by windows 0 and 1 (the stride overlap)
    ctx1 = probe.offsets[1][probe.is_context[1]]
    overlap_char = int(ctx1[5][0])
    while overlap_char > 0 and base[overlap_char - 1].isalnum():
        overlap_char -= 1  # the whole word: answers are aligned to words in spaced text
    word_end = base.index(" ", overlap_char)
    result, _ = _ask(bundle, hand, "Who designed the tower?", base, [(overlap_char, word_end, 10.0)], top_k=5)
    _check_contract(result, base)
    assert result.answers[0].start == overlap_char and result.answers[0].end == word_end
    assert [(x.start, x.end) for x in result.answers].count((overlap_char, word_end)) == 1


def test_no_answer_when_null_wins(tiny):
    name, tok, bundle, hand = tiny
    context = "The tower was designed by Gustave Eiffel in 1887."
    a = context.index("1887")
    result, _ = _ask(bundle, hand, "Who?", context, [(a, a + 4, 3.0)], can_abstain=True, null=9.0)
    assert result.no_answer and result.answers == ()
    assert result.null_score > 0.9
    result, _ = _ask(bundle, hand, "Who?", context, [(a, a + 4, 9.0)], can_abstain=True, null=1.0)
    assert not result.no_answer and result.answers[0].text == "1887"
    # a model without a null answer always answers, and its scores ignore the CLS slot
    result, _ = _ask(bundle, hand, "Who?", context, [(a, a + 4, 3.0)], can_abstain=False, null=9.0)
    assert not result.no_answer and result.answers[0].text == "1887" and result.null_score == 0.0


def test_max_answer_length_and_order(tiny):
    name, tok, bundle, hand = tiny
    context = _long_context(20)
    # start near the beginning, end far away: longer than 30 tokens, so not a candidate
    result, _ = _ask(bundle, hand, "What?", context, [(0, len(context) - 1, 10.0)])
    _check_contract(result, context)
    assert all(len(tok(x.text, add_special_tokens=False)["input_ids"]) <= 31 for x in result.answers)


def test_random_logits_keep_the_contract(tiny):
    name, tok, bundle, hand = tiny
    rng = np.random.default_rng(3)
    texts = [
        "The tower was designed by Gustave Eiffel in 1887. 🗼 Paris!",
        "人工智能是计算机科学的一个分支。北京是中国的首都。🙂",
        "  Spaces   and\nnew lines\tand <b>tags</b> &amp; 2024  ",
        _long_context(60) + " 中文 mixed ❤️ text.",
    ]
    for context in texts:
        hand.rule = lambda ids: (rng.normal(0, 3, len(ids)), rng.normal(0, 3, len(ids)))
        try:
            result = answer_with_bundle(bundle, "Who designed it 谁?", context, top_k=5, can_abstain=True)
        finally:
            hand.rule = None
        if not result.no_answer:
            assert result.answers
        _check_contract(result, context)


def test_distilbert_gets_no_token_type_ids(tiny):
    name, tok, bundle, hand = tiny
    win = encode_windows(tok, "Who?", "Gustave Eiffel.")
    if name == "distilbert":
        assert "token_type_ids" not in win.inputs
    if name in ("roberta", "xlmr"):
        assert win.cls_index[0] == 0


def test_long_question_is_cut(tiny):
    name, tok, bundle, hand = tiny
    question = " ".join(["who designed the tower"] * 60)
    context = "The tower was designed by Gustave Eiffel in 1887."
    result = answer_with_bundle(bundle, question, context)
    _check_contract(result, context)
    assert "question-cut" in result.notes


def test_decode_spans_masks_question_tokens():
    """Logits on question tokens never make an answer (pure decoding, BERT tokenizer)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        tok = _wordpiece_tokenizer(d, transformers.BertTokenizerFast)
        context = "Paris is a big city."
        win = encode_windows(tok, "Which city is big?", context)
        start = np.full(win.is_context.shape, -10.0)
        end = np.full(win.is_context.shape, -10.0)
        q_pos = np.flatnonzero(~win.is_context[0])[1:3]  # inside the question
        start[0, q_pos] = 50.0
        end[0, q_pos] = 50.0
        p = int(np.flatnonzero(win.is_context[0])[0])
        start[0, p] = end[0, p] = 5.0
        decoded = decode_spans(start, end, win, context)
        assert decoded.spans[0].start == 0 and decoded.spans[0].end == 5


def test_span_edges_lose_clause_punctuation_and_unpaired_brackets():
    from core.qa.span import _trim

    def trimmed(text: str) -> str:
        a, b = _trim(text, 0, len(text))
        return text[a:b]

    assert trimmed("计算机科学的一个分支。") == "计算机科学的一个分支"
    assert trimmed("AI）") == "AI" and trimmed("（简称 AI") == "简称 AI"
    assert trimmed("人工智能（AI）") == "人工智能（AI）"  # a pair inside stays
    assert trimmed("“人工智能”") == "“人工智能”" and trimmed(" U.S. ") == "U.S."
    assert trimmed("，。") == ""
