"""Strings of the digit drawing page."""

STRINGS: dict[str, dict[str, str]] = {
    "digits.title": {"en": "Draw a digit", "zh": "手写数字识别"},
    "digits.subtitle": {
        "en": "Draw any digit from 0 to 9 with your mouse or finger. A small neural network we trained "
              "ourselves reads it as you draw, and shows you exactly what it sees.",
        "zh": "用鼠标或手指写一个 0 到 9 的数字。我们自己训练的小型神经网络会边写边识别，"
              "并让你看到它“眼中”的图像。"},
    "digits.canvas_label": {"en": "Your drawing", "zh": "你的手写"},
    "digits.canvas_help": {
        "en": "Draw one digit, large, in the middle. The toolbar above the canvas has undo, redo and clear (🗑).",
        "zh": "在中间写一个大一点的数字。画布上方的工具栏可以撤销、重做和清空（🗑）。"},
    "digits.stroke": {"en": "Pen width", "zh": "笔画粗细"},
    "digits.stroke_help": {
        "en": "Thickness of the pen in canvas pixels. MNIST digits were written with a fairly thick pen.",
        "zh": "画笔粗细（像素）。MNIST 数据集里的数字笔画都比较粗。"},
    "digits.examples": {"en": "Or load an example", "zh": "或者载入一个示例"},
    "digits.examples_help": {
        "en": "Puts a drawing of this digit on the canvas; you can draw over it.",
        "zh": "在画布上放一个该数字的示例手写，你可以在上面继续涂改。"},
    "digits.compare": {"en": "What if we skip MNIST preprocessing?", "zh": "如果不像 MNIST 那样预处理会怎样？"},
    "digits.compare_help": {
        "en": "Shows the whole canvas simply shrunk to 28×28 (no cropping, no centring) and what the model makes of it.",
        "zh": "把整张画布直接缩小到 28×28（不裁剪、不居中），看看模型会得出什么结果。"},
    "digits.saliency": {"en": "Show which strokes mattered", "zh": "显示哪些笔画起了决定作用"},
    "digits.saliency_help": {
        "en": "Occlusion map: each small patch of the 28×28 image is hidden in turn; red marks the patches "
              "whose removal lowers the model's confidence the most.",
        "zh": "遮挡分析：依次遮住 28×28 图像中的每个小块；红色表示遮住后模型信心下降最多的区域。"},
    "digits.empty": {
        "en": "✍️ Draw a digit on the canvas (or load an example) and the prediction appears here.",
        "zh": "✍️ 在画布上写一个数字（或载入示例），识别结果会显示在这里。"},
    "digits.prediction": {"en": "Prediction", "zh": "识别结果"},
    "digits.confidence": {"en": "{p:.0%} confident", "zh": "置信度 {p:.0%}"},
    "digits.not_sure": {
        "en": "Not sure: it could be **{a}** ({pa:.0%}) or **{b}** ({pb:.0%}). Try drawing it larger or more clearly.",
        "zh": "不太确定：可能是 **{a}**（{pa:.0%}），也可能是 **{b}**（{pb:.0%}）。试着写大一点、清楚一点。"},
    "digits.model_input": {"en": "What the model sees", "zh": "模型看到的图像"},
    "digits.model_input_help": {
        "en": "28×28 pixels: your ink, cropped, scaled to fit a 20×20 box and centred by its centre of mass, exactly as the MNIST digits were made.",
        "zh": "28×28 像素：你的笔迹经过裁剪、缩放到 20×20 的框内、再按重心居中——和 MNIST 数据集的制作方式完全一样。"},
    "digits.saliency_title": {"en": "Strokes that decided it", "zh": "起决定作用的笔画"},
    "digits.chart_title": {"en": "Probability of each digit", "zh": "每个数字的概率"},
    "digits.chart_digit": {"en": "Digit", "zh": "数字"},
    "digits.chart_prob": {"en": "Probability", "zh": "概率"},
    "digits.naive_title": {"en": "Without MNIST preprocessing", "zh": "不做 MNIST 预处理"},
    "digits.naive_caption": {
        "en": "Right: the whole canvas squashed to 28×28, with no cropping and no centring.",
        "zh": "右图：整张画布直接压缩到 28×28，不裁剪、不居中。"},
    "digits.naive_differs": {
        "en": "The digit ends up small or off-centre, unlike anything the model was trained on, and the answer changes.",
        "zh": "数字变得很小或偏离中心，和模型训练时见过的图像完全不同，于是答案也变了。"},
    "digits.naive_same": {
        "en": "Here both agree because your digit fills the canvas: draw a small digit in a corner to see the difference.",
        "zh": "这里两者一致，因为你的数字几乎占满了画布：试着在角落里写一个小数字，看看差别。"},
    "digits.with_title": {"en": "With MNIST preprocessing", "zh": "使用 MNIST 预处理"},
    "digits.naive_pred": {"en": "Prediction: **{d}** ({p:.0%})", "zh": "识别结果：**{d}**（{p:.0%}）"},
    "digits.latency": {"en": "Preprocessing + model: {ms:.0f} ms", "zh": "预处理 + 模型：{ms:.0f} 毫秒"},
    "digits.about": {"en": "About this model", "zh": "关于这个模型"},
    "digits.about_body": {
        "en": "A compact convolutional network (about 0.2 M parameters, {mb:.1f} MB) trained in this project on "
              "10,000 MNIST training digits with augmentation that imitates drawing on a canvas (pen thickness, "
              "shifts, small rotations, blur). Accuracy on the official MNIST test set: **{acc}**.",
        "zh": "一个紧凑的卷积神经网络（约 20 万参数，{mb:.1f} MB），由本项目用 10,000 张 MNIST 训练图片训练，"
              "并加入模拟画布手写的数据增强（笔画粗细、平移、小角度旋转、模糊）。在官方 MNIST 测试集上的准确率：**{acc}**。"},
    "digits.unknown": {"en": "not measured yet", "zh": "尚未测量"},
    "digits.bad_example": {
        "en": "The example “{value}” does not exist; examples are the digits 0 to 9.",
        "zh": "示例“{value}”不存在；示例只有数字 0 到 9。"},
}
