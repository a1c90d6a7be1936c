"""Strings of the attention viewer page."""

STRINGS: dict[str, dict[str, str]] = {
    "attention.title": {"en": "Attention viewer", "zh": "注意力可视化"},
    "attention.subtitle": {
        "en": "Open a transformer's black box: see which words every layer and head looks at.",
        "zh": "打开 Transformer 的“黑箱”：看看每一层、每一个注意力头在关注哪些字词。"},
    "attention.text": {"en": "Text", "zh": "文本"},
    "attention.text_help": {
        "en": "Any English or Chinese text. At most {n} tokens are shown; longer text is cut.",
        "zh": "任意中文或英文文本。最多显示 {n} 个词元（token），更长的文本会被截断。"},
    "attention.text_placeholder": {"en": "Type or paste a sentence…", "zh": "输入或粘贴一句话…"},
    "attention.pair": {"en": "Second sentence (optional)", "zh": "第二句（可选）"},
    "attention.pair_help": {
        "en": "Give a second sentence to see how the model relates a sentence pair (e.g. a question and a passage).",
        "zh": "输入第二句，观察模型如何关联一对句子（例如问题与段落）。"},
    "attention.examples": {"en": "Examples:", "zh": "示例："},
    "attention.example_en": {"en": "English sentence", "zh": "英文句子"},
    "attention.example_zh": {"en": "Chinese sentence", "zh": "中文句子"},
    "attention.example_pair": {"en": "Question + passage", "zh": "问题 + 段落"},
    "attention.run": {"en": "Show attention", "zh": "显示注意力"},
    "attention.empty": {
        "en": "Type a sentence above (or pick an example) to see how the model reads it.",
        "zh": "请在上方输入一句话（或选择一个示例），看看模型是如何“阅读”它的。"},
    "attention.explicit_model": {
        "en": "Showing the attention of **{model}**, the model behind the result you came from.",
        "zh": "正在显示 **{model}** 的注意力，也就是给出你刚才所看结果的模型。"},
    "attention.other_models": {"en": "Choose another model", "zh": "选择其他模型"},
    "attention.hide_special": {"en": "Hide special tokens", "zh": "隐藏特殊词元"},
    "attention.hide_special_help": {
        "en": "Drop [CLS], [SEP], <s>, </s> and similar markers; each row is re-normalised over the remaining tokens.",
        "zh": "去掉 [CLS]、[SEP]、<s>、</s> 等标记词元；每一行在剩余词元上重新归一化。"},
    "attention.merge": {"en": "Merge word pieces into words", "zh": "合并子词为完整词 / 汉字"},
    "attention.merge_help": {
        "en": "Join pieces like “un ##believ ##ably” or “▁un beli eva bly” into one word (attention to a word = sum "
              "over its pieces, attention from a word = average of its pieces). Punctuation stays apart, and "
              "Chinese is never glued together: each character, or each piece of the model's own vocabulary "
              "(e.g. “餐厅”), stays on its own.",
        "zh": "把“un ##believ ##ably”或“▁un beli eva bly”这类子词合并为一个词（流向该词的注意力取各子词之和，"
              "从该词发出的注意力取各子词的平均）。标点单独显示；中文不会被合并：每个汉字、或模型词表里的每个片段"
              "（如“餐厅”）各自独立显示。"},
    "attention.hidden_note": {
        "en": "Special tokens are hidden: each row is re-normalised to 100 % over the remaining tokens.",
        "zh": "已隐藏特殊词元：每一行在剩余词元上重新归一化为 100%。"},
    "attention.merged_note": {
        "en": "Word pieces merged: columns summed, rows averaged.",
        "zh": "已合并子词：列求和，行取平均。"},
    "attention.truncated": {
        "en": "The text has {n} tokens; only the first {shown} are shown (the limit is {limit}).",
        "zh": "文本共有 {n} 个词元，仅显示前 {shown} 个（上限为 {limit}）。"},
    "attention.view": {"en": "View", "zh": "视图"},
    "attention.view.head": {"en": "One head", "zh": "单个注意力头"},
    "attention.view.grid": {"en": "All heads", "zh": "全部注意力头"},
    "attention.view.average": {"en": "Head average", "zh": "各头平均"},
    "attention.view.rollout": {"en": "Rollout", "zh": "注意力累积（Rollout）"},
    "attention.view.summary": {"en": "Head summary", "zh": "注意力头统计"},
    "attention.layer": {"en": "Layer", "zh": "层"},
    "attention.head": {"en": "Head", "zh": "头"},
    "attention.hover_from": {"en": "from", "zh": "来自"},
    "attention.hover_to": {"en": "to", "zh": "关注"},
    "attention.hover_weight": {"en": "weight", "zh": "权重"},
    "attention.hover_share": {"en": "share", "zh": "占比"},
    "attention.head_title": {"en": "Layer {layer} · head {head}", "zh": "第 {layer} 层 · 第 {head} 个头"},
    "attention.head_caption": {
        "en": "Row = the token that looks, column = the token it looks at; each row sums to 100 %. "
              "Hover a cell for the exact weight. Entropy {entropy:.2f} bits · to previous {prev:.0%} · "
              "to next {next:.0%} · to itself {self:.0%} · to special tokens {special:.0%}.",
        "zh": "行 = 发出注意力的词元，列 = 被关注的词元；每一行之和为 100%。将鼠标悬停在格子上可查看精确权重。"
              "熵 {entropy:.2f} 比特 · 关注前一个 {prev:.0%} · 关注后一个 {next:.0%} · 关注自身 {self:.0%} · "
              "关注特殊词元 {special:.0%}。"},
    "attention.grid_caption": {
        "en": "Every layer (rows) × head (columns) of {model}. Each thumbnail is shrunk to at most {thumb}×{thumb} "
              "cells and scaled to its own maximum. Click a thumbnail to open that head.",
        "zh": "{model} 的全部层（行）× 注意力头（列）。每个缩略图最多压缩为 {thumb}×{thumb} 格，并按自身最大值着色。"
              "点击缩略图即可打开该注意力头。"},
    "attention.grid_selected": {"en": "Selected: layer {layer}, head {head}.", "zh": "当前选择：第 {layer} 层，第 {head} 个头。"},
    "attention.open_head": {"en": "Open this head", "zh": "打开这个头"},
    "attention.average_title": {"en": "Layer {layer} · average of {heads} heads", "zh": "第 {layer} 层 · {heads} 个头的平均"},
    "attention.average_caption": {
        "en": "The mean of all heads of one layer: what the layer as a whole looks at.",
        "zh": "同一层所有注意力头的平均：这一层整体在关注什么。"},
    "attention.rollout_title": {"en": "What {token} in the last layer draws on", "zh": "最后一层的“{token}”汲取了哪些输入"},
    "attention.rollout_caption": {
        "en": "Attention rollout (Abnar & Zuidema, 2020): head averages of every layer are chained, each mixed "
              "50/50 with the residual connection, to trace how much the last layer's first token draws on each "
              "input token. Special tokens are grey; through the residual connections the first token keeps much of "
              "its own weight — turn on “Hide special tokens” to compare the words only.",
        "zh": "注意力累积（Abnar & Zuidema，2020）：把每一层的头平均注意力逐层相乘（每层与残差连接各占 50%），"
              "追踪最后一层的第一个词元从各个输入词元汲取了多少信息。特殊词元以灰色显示；由于残差连接，第一个词元会保留大量自身权重——"
              "打开“隐藏特殊词元”即可只比较字词。"},
    "attention.summary_caption": {
        "en": "One row per head. Click a column header to sort: high “→ previous” finds previous-token heads, "
              "high “→ special” finds [SEP] heads, low entropy finds sharply focused heads.",
        "zh": "每行一个注意力头。点击列标题排序：“→ 前一个”高的是“前一个词元”头，“→ 特殊”高的是 [SEP] 头，"
              "熵低的是注意力高度集中的头。"},
    "attention.col.layer": {"en": "Layer", "zh": "层"},
    "attention.col.head": {"en": "Head", "zh": "头"},
    "attention.col.entropy": {"en": "Entropy (bits)", "zh": "熵（比特）"},
    "attention.col.special": {"en": "→ special", "zh": "→ 特殊"},
    "attention.col.self": {"en": "→ self", "zh": "→ 自身"},
    "attention.col.prev": {"en": "→ previous", "zh": "→ 前一个"},
    "attention.col.next": {"en": "→ next", "zh": "→ 后一个"},
    "attention.csv": {"en": "Download CSV", "zh": "下载 CSV"},
    "attention.csv_help": {
        "en": "The numbers of the current view. For a PNG, use the camera icon at the top right of the chart.",
        "zh": "当前视图的数值。如需 PNG 图片，请点击图表右上角的相机图标。"},
    "attention.stats": {
        "en": "{model} · {layers} layers × {heads} heads · {tokens} tokens · {ms:.0f} ms",
        "zh": "{model} · {layers} 层 × {heads} 个头 · {tokens} 个词元 · {ms:.0f} 毫秒"},
    "attention.no_text_tokens": {
        "en": "The model sees no real tokens in this text, only special ones.",
        "zh": "模型在这段文本中只看到了特殊词元，没有实际内容。"},
}
