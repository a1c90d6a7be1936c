"""The classify page's example texts (buttons above the one-text box), in English and Chinese."""

from __future__ import annotations

from ui.i18n import TABLE

EXAMPLES: dict[str, str] = {
    "movie_pos_en": "A gorgeous, witty and deeply moving film. The cast is wonderful and I loved every minute of it.",
    "movie_neg_en": "A dull, lifeless mess: the plot is predictable, the jokes fall flat and it drags on far too long.",
    "mixed_en": "The acting is superb, but the story is thin and the ending is a letdown.",
    "hotel_pos_zh": "房间干净整洁，服务员态度非常好，早餐也很丰富，下次还会再来！",
    "phone_neg_zh": "手机用了三天就死机，电池也不耐用，客服态度很差，非常失望。",
    "book_pos_zh": "书的内容很好，印刷也很清晰，物流很快，非常满意。",
}


def first_example(lang: str) -> str:
    """The example text a new visitor sees, in the interface language."""
    return EXAMPLES["hotel_pos_zh" if lang == "zh" else "movie_pos_en"]


def zero_shot_example(lang: str) -> tuple[str, str]:
    """(text, labels) of the "your own labels" example in ``lang``."""
    return TABLE["classify.zs_text_default"][lang], TABLE["classify.zs_labels_default"][lang]
