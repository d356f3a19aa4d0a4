"""The Chinese catalogue: every sentence a learner reads, English (as written in the code) -> Chinese.

The {fields} of each translation are exactly those of its English original (tests/test_messages.py checks this,
and that every tr() sentence in helpers.py, machinery/ and the notebooks has an entry here). Terms follow d2l-zh
2.0 and docs/glossary.zh.md. Entries are grouped by the module (or notebook) that prints them; add yours to its
group, in the order the code meets them.
"""
ZH = {
    # --- machinery.messages ------------------------------------------------------------------------------------
    "The notebook stopped here ({name}):": "笔记本在这里停下了（{name}）：",

    # --- helpers: setup_notebook, choose_preset ------------------------------------------------------------------
    "torch {torch}, device {device}{hint}; data mode '{mode}'{forced}; seed {seed}":
        "torch {torch}，设备 {device}{hint}；数据模式 '{mode}'{forced}；随机种子 {seed}",
    " (no GPU: the small presets run on a CPU; on Colab choose a GPU runtime)":
        "（没有 GPU：小预设可以在 CPU 上运行；在 Colab 上请选择 GPU 运行时）",
    "{name} {found} is too old for these notebooks: {minimum} or newer is needed. Run `make setup` (or "
    "`pip install -U {name}`) and restart the kernel.":
        "{name} {found} 对这些笔记本来说太旧了，需要 {minimum} 或更新的版本。请运行 `make setup`"
        "（或 `pip install -U {name}`），然后重启内核。",
    "preset '{chosen}' ({why}):": "预设 '{chosen}'（{why}）：",
    "as asked": "按参数指定",
    "the data is a stand-in": "数据是替身数据",
    "there is no GPU": "没有 GPU",
    "real data and a GPU": "真实数据，且有 GPU",

    # --- machinery.progress, machinery.scoring (train_ch13, predict) ------------------------------------------------
    "scored on the {name} set after every epoch": "每轮结束后在 {name} 上评估",
    "no {name} set: nothing is scored between epochs": "没有 {name} 数据：各轮之间不做评估",
    "{tag}{title}: {epochs} epoch(s) of {batches} batch(es) on {devices}; {what}":
        "{tag}{title}：{epochs} 轮，每轮 {batches} 个批量，设备 {devices}；{what}",
    "{ips:.1f} examples/sec on {devices} (data loading included); {seconds:.1f} s of training":
        "{ips:.1f} 样本/秒，设备 {devices}（包括读取数据的时间）；共训练 {seconds:.1f} 秒",
    "images": "图片",
    "validation images": "验证集图片",
    "test images": "测试集图片",
    "class {k}": "类别 {k}",
    "Constant predictions: all {n} {what} get the same probabilities (within {tol}), so the net ignores its input "
    "and every score it gets is a guess; try a smaller learning rate or weight decay, more epochs, or check the data.":
        "预测是常数：全部 {n} 张{what}得到的概率都一样（相差不到 {tol}），说明网络没有利用输入，它得到的任何分数都只是"
        "猜测；请试试更小的学习率或权重衰减、更多的轮数，或者检查数据。",
    "Constant predictions: the net predicts {name} for all {n} {what}, so it does not tell them apart yet; train "
    "longer, or check the learning rate and the data.":
        "预测是常数：网络把全部 {n} 张{what}都预测为 {name}，说明它还分不开这些图片；请训练更久，或者检查学习率和数据。",
}
