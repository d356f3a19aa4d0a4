#!/usr/bin/env python3
"""Draw the fine-tuning diagram of notebook 37 (source model, target model, what is copied, what is new) in English
and in Chinese:

    .venv/bin/python tools/draw_fine_tuning_diagram.py          # from the repository root
    -> img/37_fine_tuning_diagram.png (English labels), img/37_fine_tuning_diagram.zh.png (Chinese labels)

The notebooks show these files from markdown; they do not draw them. The Chinese labels need a CJK font that
matplotlib can find (Debian: fonts-noto-cjk, "Noto Sans CJK SC"); without one the script stops instead of writing
boxes where the characters should be.
"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei"]

LABELS = {
    "en": dict(
        source="source model", target="target model",
        source_data="source data: ImageNet\n1.2M images, 1,000 classes",
        target_data="target data: hotdog\n2,000 images, 2 classes",
        layers=["stem: conv1, bn1, pool", "layer1", "layer2", "layer3", "layer4 + avgpool"],
        source_head="output layer fc\n512 -> 1,000 ImageNet classes",
        target_head="NEW output layer fc: 512 -> 2\nrandom (Xavier) init, 10x lr",
        copy="copy the weights", reuse="optional (exercise 4):\nreuse row 934 'hotdog'",
        freeze="may be frozen\n(exercise 3)", levels="general -> specific features"),
    "zh": dict(
        source="源模型", target="目标模型",
        source_data="源数据集：ImageNet\n120万张图像，1000类",
        target_data="目标数据集：热狗\n2000张图像，2类",
        layers=["起始层：conv1, bn1, 汇聚", "layer1", "layer2", "layer3", "layer4 + 全局平均汇聚"],
        source_head="输出层 fc\n512 → 1000个ImageNet类别",
        target_head="新的输出层 fc：512 → 2\n随机初始化（Xavier），10倍学习率",
        copy="复制参数", reuse="可选（练习 4）：\n重用第934行“hotdog”",
        freeze="可以冻结\n（练习 3）", levels="通用特征 → 特定特征"),
}


def cjk_font():
    """The first CJK font matplotlib knows, or exit with what to install."""
    for attempt in range(2):
        known = {f.name for f in font_manager.fontManager.ttflist}
        for name in CJK_FONTS:
            if name in known:
                return name
        # fonts installed after matplotlib built its font cache: register the system's CJK files and look again
        for path in font_manager.findSystemFonts():
            if "CJK" in path or "wqy" in path.lower():
                font_manager.fontManager.addfont(path)
    sys.exit(f"No CJK font found among {CJK_FONTS}: install fonts-noto-cjk (Debian) and run again.")


def draw(text):
    """Source model (left) and target model (right): the body is copied, the output layer is new."""
    fig, ax = plt.subplots(figsize=(9, 5.4))
    xs, xt, y0, dy = 1.9, 7.3, 1.2, 0.95
    ax.set_xlim(0, 10.3)
    ax.set_ylim(-0.6, 7.6)
    ax.axis("off")
    body, src_head, new_head, data = "#9ecae1", "#fdae6b", "#a1d99b", "#eeeeee"

    def box(x, y, label, color, w=3.2, h=0.62, fontsize=9, **style):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03", fc=color, **style))
        ax.text(x, y, label, ha="center", va="center", fontsize=fontsize)

    def arrow(a, b, color="black", **style):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, color=color, lw=1.2, **style))

    layers = text["layers"]
    y_out = y0 + len(layers) * dy + 0.35
    for x, title, data_text in ((xs, text["source"], text["source_data"]), (xt, text["target"], text["target_data"])):
        ax.text(x, y_out + 0.75, title, ha="center", fontsize=11, weight="bold")
        box(x, 0.0, data_text, data, h=0.85, fontsize=8.5, ec="gray")
        arrow((x, 0.45), (x, y0 - 0.33))
        for k, name in enumerate(layers):
            box(x, y0 + k * dy, name, body, ec="black")
            arrow((x, y0 + k * dy + 0.31), (x, y0 + (k + 1) * dy - 0.31) if k < len(layers) - 1 else (x, y_out - 0.37))
    box(xs, y_out, text["source_head"], src_head, h=0.72, fontsize=8.5, ec="black")
    box(xt, y_out, text["target_head"], new_head, h=0.72, fontsize=8.5, ec="black", ls="--", lw=1.6)
    for k in range(len(layers)):                                   # the body is copied layer by layer
        arrow((xs + 1.65, y0 + k * dy), (xt - 1.65, y0 + k * dy), color="tab:blue")
    ax.text((xs + xt) / 2, y0 + 2.5 * dy, text["copy"], ha="center", va="center", color="tab:blue", fontsize=9)
    arrow((xs + 1.65, y_out), (xt - 1.65, y_out), color="tab:orange", ls=(0, (4, 3)))
    ax.text((xs + xt) / 2, y_out + 0.1, text["reuse"], ha="center", va="bottom", color="tab:orange", fontsize=8)
    # what exercise 3 may freeze, and where general and specific features live
    ax.add_patch(FancyBboxPatch((xt - 1.75, y0 - 0.42), 3.5, 2 * dy + 0.84, boxstyle="round,pad=0.02", fc="none",
                                ec="tab:purple", ls="--", lw=1.4))
    ax.text(xt + 2.05, y0 + dy, text["freeze"], rotation=90, ha="center", va="center", color="tab:purple", fontsize=8)
    arrow((xt + 2.6, y0 - 0.3), (xt + 2.6, y0 + 4 * dy + 0.3), color="gray")
    ax.text(xt + 2.8, y0 + 2 * dy, text["levels"], rotation=90, ha="center", va="center", color="gray", fontsize=8)
    return fig


def main():
    out = REPO / "img"
    for lang, suffix in (("en", ""), ("zh", ".zh")):
        style = {"font.family": [cjk_font(), "DejaVu Sans"]} if lang == "zh" else {}
        with plt.rc_context(style):
            fig = draw(LABELS[lang])
            path = out / f"37_fine_tuning_diagram{suffix}.png"
            fig.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(fig)
        print("wrote", path.relative_to(REPO))


if __name__ == "__main__":
    main()
