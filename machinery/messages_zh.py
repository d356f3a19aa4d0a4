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
}
