"""The QA page's example passages and questions, in English and Chinese."""

from __future__ import annotations

EXAMPLES: dict[str, tuple[str, str]] = {
    "ai_zh": (
        "人工智能（Artificial Intelligence，简称 AI）是计算机科学的一个分支，研究如何让机器模拟、延伸和扩展人的智能。"
        "1956 年，在美国达特茅斯学院举行的一次会议上，“人工智能”这一术语被正式提出。"
        "机器学习是实现人工智能的重要方法，它让计算机从数据中自动学习规律，而不是依靠人手写规则。"
        "深度学习使用多层神经网络，在图像识别和语音识别等任务上取得了突破。"
        "如今，人工智能被广泛应用于医疗诊断、自动驾驶、机器翻译和金融风控等领域。",
        "“人工智能”这一术语是哪一年被正式提出的？",
    ),
    "greatwall_zh": (
        "长城是中国古代的军事防御工程，也是世界上最著名的建筑之一。它始建于春秋战国时期，秦始皇统一六国后把各段城墙连接起来。"
        "现存的长城大多修建于明朝。根据 2012 年的测量，历代长城总长度为 21196.18 千米。"
        "1987 年，长城被联合国教科文组织列入《世界遗产名录》。",
        "长城是哪一年被列入世界遗产名录的？",
    ),
    "panda_zh": (
        "大熊猫是中国特有的哺乳动物，被誉为“活化石”和“中国国宝”。它们主要生活在四川、陕西和甘肃的山区竹林中。"
        "大熊猫最喜欢吃竹子，一只成年大熊猫每天要花十多个小时进食。"
        "野生大熊猫的寿命一般为 18 到 20 岁，圈养状态下可以超过 30 岁。",
        "大熊猫主要生活在哪里？",
    ),
    "eiffel_en": (
        "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. "
        "It is named after the engineer Gustave Eiffel, whose company designed and built the tower. "
        "It was constructed from 1887 to 1889 as the centerpiece of the 1889 World's Fair. "
        "The tower is 330 metres tall, about the same height as an 81-storey building. "
        "It was the tallest man-made structure in the world until the Chrysler Building in New York was finished in 1930.",
        "Who designed the tower?",
    ),
    "curie_en": (
        "Marie Curie was a Polish and naturalised-French physicist and chemist. "
        "She conducted pioneering research on radioactivity, a term she coined. "
        "She was the first woman to win a Nobel Prize, and the only person to win Nobel Prizes in two different sciences. "
        "Together with her husband Pierre Curie she discovered the elements polonium and radium.",
        "Which elements did she discover?",
    ),
    "internet_en": (
        "The Internet is a global network of interconnected computers. "
        "It grew out of ARPANET, a project funded by the United States Department of Defense in the late 1960s. "
        "Tim Berners-Lee invented the World Wide Web in 1989 while working at CERN. "
        "Today more than five billion people use the Internet. Data travels across it in small units called packets.",
        "Who invented the World Wide Web?",
    ),
}
OPTIONS = ["custom", *EXAMPLES]


def first_example(lang: str) -> str:
    """The example a new visitor sees, in the interface language."""
    return "ai_zh" if lang == "zh" else "eiffel_en"


def matching_example(context: str, question: str) -> str:
    """The example these texts are, else ``"custom"`` (the visitor's own text)."""
    return next((k for k, pair in EXAMPLES.items() if pair == (context, question)), "custom")
