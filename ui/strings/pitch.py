"""Strings of pitch mode (the presenter's guided tour)."""

STRINGS: dict[str, dict[str, str]] = {
    "pitch.step": {"en": "Step {n} of {total}", "zh": "第 {n} 步，共 {total} 步"},
    "pitch.prev": {"en": "Previous", "zh": "上一步"},
    "pitch.next": {"en": "Next", "zh": "下一步"},
    "pitch.end": {"en": "Finish", "zh": "结束"},
    "pitch.start": {"en": "Start the guided tour", "zh": "开始引导演示"},
    "pitch.step.home": {"en": "Four AI capabilities, live on this laptop — no cloud, no internet needed.",
                        "zh": "四种 AI 能力，在这台笔记本上实时运行——无需云端，无需联网。"},
    "pitch.step.qa": {"en": "Ask anything about a text: the answer is found and highlighted in the passage.",
                      "zh": "就一段文字随意提问：答案会在原文中被找到并高亮。"},
    "pitch.step.classify": {"en": "It reads the mood of a review — and shows which words decided it.",
                            "zh": "它能读懂评论的情感——并指出是哪些词起了决定作用。"},
    "pitch.step.digits": {"en": "Draw a digit: see exactly what the network sees, and how sure it is.",
                          "zh": "写一个数字：看看神经网络究竟“看到”了什么，以及它有多确定。"},
    "pitch.step.attention": {"en": "Open the black box: what every attention head of a transformer looks at.",
                             "zh": "打开黑箱：Transformer 的每个注意力头都在关注什么。"},
    "pitch.step.status": {"en": "Everything you saw runs offline — checked live, right now.",
                          "zh": "您刚才看到的一切都可离线运行——此刻实时检查。"},
}
