"""Request and response models of the HTTP API (pydantic): what ``/docs`` shows."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from core.qa.select import MAX_CONTEXT_CHARS  # one number: core refuses longer passages too

MAX_QUESTION_CHARS = 1_000
MAX_TEXT_CHARS = 5_000
MAX_TEXTS = 256
MAX_LABELS = 20
MAX_LABEL_CHARS = 100
MAX_ATTENTION_CHARS = 2_000


class Strict(BaseModel):
    """A request body: no unknown fields, and no lax coercion (``"full": 0`` is not a boolean,
    ``"3"`` is not an integer): what the OpenAPI document says is what is accepted."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, strict=True)


def _whole(value: Any) -> Any:
    """JSON Schema's integer includes 1.0: take a whole float as an int (strings and booleans
    stay refused)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Integer = Annotated[int, BeforeValidator(_whole)]


class ErrorDetail(BaseModel):
    loc: list[str]
    msg: str


class ErrorBody(BaseModel):
    code: str = Field(
        description="machine-readable: invalid-input, invalid-json, invalid-form, too-large, unauthorized, "
        "rate-limited, empty, binary-text, wrong-encoding, passage-too-long, not-an-image, bad-shape, "
        "bad-pixels, bad-layer, bad-head, model-unavailable, explain-refused, unknown-task, unavailable, ..."
    )
    message: str = Field(description="for people (English)")
    details: list[ErrorDetail] | None = Field(None, description="invalid-input: where the request breaks the schema")
    reason: str | None = Field(
        None,
        description="model-unavailable: why (e.g. unknown-model, offline-not-cached); explain-refused: the "
        "explanation's code (too-slow, empty, no-answer, ...)",
    )
    key: str | None = Field(None, description="model-unavailable: the model key")
    hint: str | None = None
    params: dict[str, Any] | None = None
    length: int | None = Field(None, description="passage-too-long: the passage's length")
    limit: int | None = Field(None, description="passage-too-long: the limit")


class ErrorResponse(BaseModel):
    error: ErrorBody


# --- Q&A -------------------------------------------------------------------------------


class AskRequest(Strict):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, examples=["什么是人工智能？"])
    context: str = Field(
        min_length=1,
        description=f"at most {MAX_CONTEXT_CHARS:,} characters; longer: 422 with code passage-too-long",
        json_schema_extra={"maxLength": MAX_CONTEXT_CHARS},  # checked by the route: its own error code
        examples=["人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。"],
    )
    model: str | None = Field(None, description="a registry key (GET /api/models); default: the passage's language")


class AskResponse(BaseModel):
    answer: str = Field(description="the best answer, a span of the passage; empty when there is none")


class QARequest(AskRequest):
    top_k: Integer = Field(3, ge=1, le=10)
    explain: bool = Field(
        False,
        description="also why the top answer: Integrated Gradients of its start + end score over the question's "
        "and the passage's words (span models only; a few seconds more)",
    )


class AnswerOut(BaseModel):
    text: str
    start: int = Field(description="character offset into context: context[start:end] == text")
    end: int
    score: float
    kind: Literal["span", "sentence", "llm"]


class WordWeightsOut(BaseModel):
    pieces: list[str] = Field(description="the text in order, whitespace included: joined, they are the text")
    weights: list[float] = Field(
        description="one per piece, in units of the answer's start + end score: positive pushed towards the "
        "answer, negative against it; 0 for whitespace and for passage text outside the explained window"
    )
    notes: list[str] = Field(
        description="codes: outside-window (only the part of the passage around the answer was explained), "
        "question-cut, "
        "char-fallback (Chinese split into characters)"
    )


class ExplanationOut(BaseModel):
    code: Literal["ok", "not-available", "no-answer", "too-slow"] = Field(
        description="ok; not-available: not a span model's answer (language model, sentence retrieval); no-answer; "
        "too-slow: the model gives this answer only from a window too long to explain in a few seconds"
    )
    method: Literal["integrated-gradients"]
    question: WordWeightsOut | None = Field(None, description="code ok: the question's words")
    passage: WordWeightsOut | None = Field(None, description="code ok: the passage's words")
    window: tuple[int, int] | None = Field(None, description="code ok: the passage characters explained")
    score: float | None = Field(None, description="code ok: the answer's start + end score (logits)")
    baseline_score: float | None = Field(None, description="code ok: the same with the words replaced by padding")
    completeness_error: float | None = Field(
        None, description="|sum of weights - (score - baseline_score)| / |score - baseline_score|"
    )
    drop: float | None = Field(
        None, description="fall of the answer's probability when the top 20 % of the passage words are deleted"
    )
    random_drop: float | None = Field(None, description="the same for as many random words (mean of 3 draws)")
    seconds: float = Field(0.0, description="time to explain")


class QAResponse(BaseModel):
    answers: list[AnswerOut]
    model: str
    mode: Literal["span", "sentence", "llm"]
    language: str
    no_answer: bool
    weak: bool
    null_score: float
    windows: int
    requested: str
    why: str
    fallback: str
    notes: list[str]
    device: str
    latency_ms: float
    windows_total: int = Field(0, description="span mode: the passage's windows; `windows` of them were read")
    segments: list[tuple[int, int]] = Field(
        default_factory=list,
        description="the parts of the context that were read (character offsets) when not all of it was: "
        "llm mode, and span mode on a long passage (its best windows); empty: the whole passage was read",
    )
    first_token_ms: float = Field(0.0, description="llm mode: time to the first answer token")
    explanation: ExplanationOut | None = Field(None, description="with explain: true, why the top answer; else null")


# --- classification --------------------------------------------------------------------


Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]

# "text or texts": exactly one of them, not null (the other absent or null)
_TEXT_OR_TEXTS: JsonDict = {
    "oneOf": [
        {"required": ["text"], "properties": {"text": {"type": "string"}}},
        {"required": ["texts"], "properties": {"texts": {"type": "array"}}},
    ]
}


class _Texts(Strict):
    model_config = ConfigDict(json_schema_extra=_TEXT_OR_TEXTS)

    text: Text | None = Field(None, description="one text (or give texts)")
    texts: list[Text] | None = Field(
        None, max_length=MAX_TEXTS, description="several texts (or give text); a blank one gets null"
    )

    @model_validator(mode="after")
    def _one_of(self) -> _Texts:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give either text or texts")
        return self

    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class ClassifyRequest(_Texts):
    model: str | None = Field(None, description="a sentiment model key; default: each text's language")


class ZeroShotRequest(_Texts):
    labels: list[Annotated[str, Field(min_length=1, max_length=MAX_LABEL_CHARS)]] = Field(
        min_length=2, max_length=MAX_LABELS, examples=[["sport", "politics", "technology"]]
    )
    model: str | None = None


class PredictionOut(BaseModel):
    label: str
    score: float
    scores: dict[str, float]
    model: str
    language: str
    truncated: bool


class ClassifyResponse(BaseModel):
    predictions: list[PredictionOut | None] = Field(description="one per text; null for an empty text")
    latency_ms: float


class ExplainRequest(Strict):
    text: Text = Field(description="one text to classify and explain (at most 5,000 characters)")
    model: str | None = Field(None, description="a sentiment model key; default: the text's language")
    method: Literal["auto", "shapley", "integrated-gradients", "occlusion"] = Field(
        "auto",
        description="auto: the most faithful method for the text's language within 1 s on held-out reviews "
        "(bench/explain.py); shapley: Captum Shapley value sampling over words; integrated-gradients: Captum, "
        "on the word embeddings from a padding baseline; occlusion: each word deleted in turn",
    )


class WordAttributionOut(BaseModel):
    method: Literal["shapley", "integrated-gradients", "occlusion"]
    pieces: list[str] = Field(description="the text in order, whitespace included: joined, they are the text")
    weights: list[float] = Field(
        description="one per piece: how much the word pushed the predicted label's log-odds (positive: towards "
        "it, negative: against it); 0 for whitespace and for words past the cap"
    )
    completeness_error: float | None = Field(
        None, description="integrated gradients: |sum of weights - (f(text) - f(baseline))| / |f(text) - f(baseline)|"
    )
    drop: float = Field(description="fall of the label's probability when the top 20 % of the words are deleted")
    random_drop: float = Field(description="the same for as many random words (mean of 3 draws)")
    notes: list[str] = Field(
        description="codes: truncated (past the model's token limit, not explained), capped (only the first "
        "120 words explained), char-fallback (Chinese split into characters)"
    )
    seconds: float


class ExplainResponse(BaseModel):
    prediction: PredictionOut
    explanation: WordAttributionOut | None = Field(
        description="null when the text cannot be explained: see explain_error"
    )
    explain_error: Literal["too-long", "too-slow", "no-units"] | None = Field(
        None, description="why there is no explanation (the prediction stands)"
    )
    latency_ms: float


# --- digits ----------------------------------------------------------------------------


def _square(side: int) -> dict[str, Any]:
    row = {
        "type": "array",
        "minItems": side,
        "maxItems": side,
        "items": {"type": "number", "minimum": 0, "maximum": 255},
    }
    return {"type": "array", "minItems": side, "maxItems": side, "items": row}


# "auto" and core.digits.explain.DIGIT_METHODS (tests/test_api.py keeps them equal)
DigitMethod = Literal["auto", "occlusion", "integrated-gradients", "gradient-x-input"]


class DigitsRequest(Strict):
    # the shape and values are checked by the route (codes bad-shape, bad-pixels); the schema says the same
    pixels: list[list[float]] = Field(
        description="a 28x28 or 280x280 grey image, rows of numbers in 0..255 (or 0..1); ink light on dark or dark on light",
        json_schema_extra={"oneOf": [_square(28), _square(280)]},
    )
    saliency: bool = False
    saliency_method: DigitMethod = Field(
        "auto",
        description="how the saliency map is computed (auto: occlusion, the most faithful on bench/explain_digits.py)",
    )


DIGITS_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "a PNG or JPEG, 8x8 pixels or more"},
        "saliency": {"type": "boolean", "default": False, "description": "the form value true or false"},
        "saliency_method": {
            "type": "string",
            "enum": list(get_args(DigitMethod)),
            "default": "auto",
        },
    },
    "additionalProperties": False,
}


class DigitsResponse(BaseModel):
    code: Literal["ok", "blank"]
    digit: int | None
    probabilities: list[float] | None = Field(None, description="ten probabilities, digit 0 first")
    image: list[list[float]] | None = Field(None, description="the 28x28 picture the model saw, 0..1")
    saliency: list[list[float]] | None = None
    saliency_method: str | None = Field(None, description="the method of the saliency map, when one was asked for")
    model: str
    latency_ms: float


# --- attention -------------------------------------------------------------------------


class AttentionRequest(Strict):
    text: str = Field(min_length=1, max_length=MAX_ATTENTION_CHARS)
    pair: str | None = Field(None, max_length=MAX_ATTENTION_CHARS)
    model: str | None = None
    layer: Integer = Field(-1, description="which layer (negative counts from the last)")
    head: Integer | None = Field(None, description="which head; null: the average of the layer's heads")
    full: bool = Field(False, description="also every layer and head (capped in size)")


class AttentionResponse(BaseModel):
    model: str
    tokens: list[str]
    layers: int
    heads: int
    layer: int
    head: int | None
    matrix: list[list[float]] = Field(description="T x T: row i is how token i attends to every token")
    truncated: bool
    n_input_tokens: int
    causal: bool = Field(False, description="a language model: each token attends only to itself and earlier ones")
    kv_heads: int = Field(0, description="key/value heads shared by groups of query heads (0: one per head)")
    full: list[list[list[list[float]]]] | None = Field(None, description="layers x heads x T x T when asked")


# --- models, health --------------------------------------------------------------------


class ModelOut(BaseModel):
    key: str
    name: str
    tasks: list[str]
    languages: list[str]
    source: str
    status: str
    reason: str
    size_mb: float
    loaded_s: float | None
    runtime: str | None = Field(None, description="pytorch or openvino, once loaded (null: not loaded here)")
    precision: str | None = Field(None, description="fp32, int8, fp16 or bf16, once loaded")
    runtime_note: str = Field("", description="why OpenVINO is not used where it was wanted (e.g. ov-stale)")


class TaskCall(Strict):
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)


class TaskOut(BaseModel):
    result: Any = Field(description="the task's result, wire-encoded (core.wire)")
    engine: str


class HealthOut(BaseModel):
    status: Literal["ok"]
    engine: str
    device: str
    device_info: dict[str, Any]


class ReadyOut(BaseModel):
    ready: bool
    loaded: list[str]
    missing: list[str] = Field(description="default models not loaded yet (503 until there are none)")
    engine: str


class StatsOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    engine: str


# --- training ----------------------------------------------------------------------------


class TrainRequest(Strict):
    """A training job (``core.train.TrainSpec``). Values past the caps are clamped, and the
    answer's ``notes`` say which (``clamped-<field>``)."""

    task: Literal["digits", "sentiment"] = "digits"
    preset: Literal["mlp", "cnn", "textcnn", "bow"] = Field(
        "mlp", description="digits: mlp or cnn; sentiment: textcnn or bow (another pairing: 422 bad-spec)"
    )
    lang: Literal["en", "zh"] = Field("en", description="sentiment: the review corpus")
    width: Integer = Field(256, ge=1, le=1_000_000, description="hidden units (mlp, bow) or filters (cnn, textcnn)")
    depth: Integer = Field(1, ge=1, le=100, description="hidden layers / convolution blocks (capped at 3)")
    epochs: Integer = Field(5, ge=0, le=10_000, description="capped at 1..30")
    batch_size: Integer = Field(64, ge=1, le=1_000_000, description="capped at 8..512")
    lr: float = Field(
        1e-3, gt=0, le=1e9, description="learning rate, capped at 1e-5..10 (1e3 diverges: it is capped at 10)"
    )
    optimiser: Literal["adam", "sgd"] = "adam"
    n_train: Integer = Field(9_000, ge=1, le=1_000_000, description="training examples (digits: 100..9,000)")
    seed: Integer = Field(0, ge=0, le=2**31 - 1)


class TrainStarted(BaseModel):
    id: str = Field(description="the job id, for GET and DELETE /api/train/{id}")
    state: str
    queue_position: int = Field(description="1 = next to run; 0 when running")
    notes: list[str] = Field(description="clamped-<field> for each value past the caps; one-thread")


class TrainPointOut(BaseModel):
    epoch: float
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    seconds: float


class TrainMistakeOut(BaseModel):
    true: str
    predicted: str
    p: float
    text: str = ""
    image: list[list[float]] | None = Field(None, description="digits, with ?images=true: 28x28, 0..1")


class TrainStatusOut(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "stopped", "diverged", "timeout", "failed", "lost"]
    spec: TrainRequest
    queue_position: int
    progress: float = Field(description="0..1")
    eta_s: float | None
    elapsed_s: float = Field(description="seconds of training so far")
    phase: str | None = Field(None, description="queued, starting, preparing, training, finished")
    runs_on: Literal["process", "ray"] | None = Field(
        None, description="where the job trains: a child process of this server, or a Ray task (make serve-cluster)"
    )
    worker: str | None = Field(None, description="the training process, pid@host, once it started")
    history: list[TrainPointOut] = Field(description="the curves: points a few times per epoch")
    mistakes: list[TrainMistakeOut] = Field(description="up to 16 current validation mistakes")
    labels: list[str]
    confusion: list[list[int]] | None = Field(None, description="the test set, rows = true labels")
    test_accuracy: float | None
    shipped_accuracy: float | None = Field(description="the shipped model's accuracy on the same test set")
    notes: list[str]
    error: str | None = Field(
        description="diverged, timeout, idle (not polled), no-data, lost, out-of-memory, error, shutdown"
    )
    detail: str | None = None
    finished_at: float | None = Field(None, description="Unix time")
