"""The Chinese catalogue: every sentence a learner reads, English (as written in the code) -> Chinese.

The {fields} of each translation are exactly those of its English original (tests/test_messages.py checks this,
and that every tr() sentence in helpers.py, machinery/ and the notebooks has an entry here). Terms follow d2l-zh
2.0 and docs/glossary.zh.md. Entries are grouped by the module (or notebook) that prints them; add yours to its
group, in the order the code meets them. A message from other software (an OS or library error) is not translated
but quoted verbatim in Chinese quotation marks: （系统的原话：“{error}”）.
"""
ZH = {
    # --- machinery.messages ------------------------------------------------------------------------------------
    "The notebook stopped here ({name}):": "笔记本在这里停下了（{name}）：",

    # --- helpers: setup_notebook, choose_preset ------------------------------------------------------------------
    "torch {torch}, device {device}{hint}; data mode '{mode}'{forced}; seed {seed}":
        "torch {torch}，设备 {device}{hint}；数据模式 '{mode}'{forced}；随机种子 {seed}",
    " (no GPU: the small presets run on a CPU; on Colab or Kaggle, turn on a GPU)":
        "（没有 GPU：小预设可以在 CPU 上运行；在 Colab 或 Kaggle 上请打开 GPU）",
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
    "valid set": "验证集",
    "test set": "测试集",
    "train set": "训练集",
    "scored on the {set} after every epoch": "每轮结束后在{set}上评估",
    "no {set}: nothing is scored between epochs": "没有{set}：各轮之间不做评估",
    "{epochs} epochs: a line every {k} epochs (and for the first and the last); the history keeps every epoch.":
        "共 {epochs} 轮：每 {k} 轮打印一行（另加第 1 轮和最后一轮），历史记录里每一轮都有。",
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

    # --- machinery.coursecode (show_source: the course's code beside ours) -----------------------------------------
    "The course's: d2l.{name} ({version}, read from the installed package)":
        "课程的代码：d2l.{name}（{version}，从已安装的 d2l 包中读出）",
    "d2l's {name} is defined in the chapter {chapter} only (the d2l package does not hold it): read it in d2l-zh's "
    "source": "d2l 的 {name} 只在 {chapter} 这一节里定义（d2l 包里没有它），请在 d2l-zh 的源文件里阅读",
    "d2l is not installed here: read d2l's {name} in d2l-zh's source":
        "这里没有安装 d2l：请在 d2l-zh 的源文件里阅读 d2l 的 {name}",
    "Ours: {names} (helpers.py, the code that runs here)": "我们的代码：{names}（helpers.py，这里实际运行的代码）",
    "The same result as d2l's: a dict {{id: label}} from the rows after the header.":
        "结果和 d2l 的相同：从表头之后的各行得到一个字典 {{编号: 标签}}。",
    "Added: the file is read as UTF-8 whatever the computer's language settings, blanks around the cells are "
    "stripped, and a malformed row, or an id listed twice with two labels, is named by its line number.":
        "我们加的：不管电脑的语言设置如何都按 UTF-8 读文件，去掉单元格两边的空格；格式不对的行、或者同一个编号出现两次"
        "且标签不同，会报出它所在的行号。",
    "The same split as d2l's: n_valid_per_label comes from the smallest class, and every image goes to train_valid "
    "and to valid or train.":
        "划分方法和 d2l 的相同：n_valid_per_label 由最小的类别决定，每张图片都放进 train_valid，同时放进 valid 或 train "
        "之一。",
    "Changed: valid gets the first images of each class in file-number order (d2l takes the order os.listdir gives, "
    "which differs between machines), and a class of one image keeps it in train.":
        "我们改的：valid 取每个类别按文件编号排序后的前几张（d2l 取 os.listdir 给出的顺序，换一台机器就可能不同）；"
        "只有一张图片的类别把它留在 train 里。",
    "Added: hard links instead of copies (no extra disk), nothing redone when the files are unchanged, a read-only "
    "data folder gets its tree elsewhere (on Kaggle in /kaggle/temp, else the output folder), and a missing label or "
    "image is named.":
        "我们加的：用硬链接代替复制（不占额外磁盘）；文件没变时什么也不重做；数据目录只读时，整理出的目录放到别处"
        "（Kaggle 上放在 /kaggle/temp，其他地方放在输出目录）；缺少的标签或图片会被指名报出。",
    "The same as d2l's: every test image goes into test/unknown, one class folder that ImageFolder can read.":
        "和 d2l 的相同：每张测试图片都放进 test/unknown 这一个类别目录，ImageFolder 才能读取。",
    "Added: links instead of copies, stray files (.DS_Store) skipped, nothing redone when the test files are "
    "unchanged.":
        "我们加的：用链接代替复制，跳过无关文件（.DS_Store），测试文件没变时什么也不重做。",
    "The same steps as d2l's: the batch to devices[0], train mode, zero the gradients, forward, backward on the "
    "summed loss, one optimiser step; it returns the summed loss and the number correct.":
        "步骤和 d2l 的相同：把批量放到 devices[0]，切换到训练模式，梯度清零，前向计算，对求和后的损失反向传播，优化器"
        "走一步；返回损失之和与预测正确的个数。",
    "Added: amp runs the forward pass in mixed precision on a GPU (fp16 with a GradScaler), channels_last stores the "
    "images in the layout GPUs prefer; on a CPU both stay off.":
        "我们加的：amp 在 GPU 上用混合精度做前向计算（fp16 时配合 GradScaler），channels_last 把图片存成 GPU 更喜欢的"
        "内存布局；在 CPU 上两者都不打开。",
    "The loop is d2l's: train_batch_ch13 on every batch, then the test set (here: the validation set) scored once "
    "per epoch, and the closing lines.":
        "循环和 d2l 的一样：每个批量调用 train_batch_ch13，每轮结束后在测试集（这里是验证集）上评估一次，最后打印结果。",
    "Added for this course's chapters: the scheduler steps once per epoch (d2l's CIFAR-10 and dog chapters write the "
    "whole loop again for that), and the validation loss is recorded beside the accuracy in one pass (the dog "
    "competition is scored on log loss).":
        "为这几讲加的：学习率调度器每轮走一步（d2l 的 CIFAR-10 和狗的品种识别两节为此把整个循环重写了一遍）；验证集的"
        "损失和精度在同一遍里一起记录（狗的品种识别比赛按对数损失评分）。",
    "Added for your runs: checkpoint= saves every epoch and a rerun resumes (Colab disconnects), a loss that turns "
    "NaN stops the run at once, and constant predictions are said in one sentence.":
        "为你的运行加的：checkpoint= 每轮保存一次，重新运行时接着训练（Colab 会断线）；损失变成 NaN 时立即停止；预测是"
        "常数时用一句话指出。",
    "Changed: one device is never wrapped in nn.DataParallel (d2l wraps even a CPU; ours does on two or more GPUs, "
    "as d2l's), fewer than five batches work (d2l divides by num_batches // 5), and images/s counts data loading. "
    "progress.Board does what d2l's Animator does.":
        "我们改的：单个设备不套 nn.DataParallel（d2l 连 CPU 也套；有两块或更多 GPU 时我们和 d2l 一样用它）；批量少于五个"
        "也能运行（d2l 要除以 num_batches // 5）；每秒图片数把读数据的时间算在内。d2l 里 Animator 做的事由 progress.Board "
        "来做。",

    # --- helpers: reorganisation (read_csv_labels, reorg_train_valid, reorg_test, reorganised_loaders) --------------
    "{n} of {total} classes have a single image, which stays in train: they get no validation image ({names})":
        "{total} 个类别中有 {n} 个只有一张图片，这张图片留在 train 里：这些类别没有验证图片（{names}）",
    "{n} images are in both train and valid (for example {example}), so validation would score images the net "
    "trains on. Was d2l's reorg_train_valid run over this tree? Delete {root} and run reorg_train_valid again.":
        "有 {n} 张图片同时出现在 train 和 valid 里（例如 {example}），验证时就会用网络训练过的图片打分。是不是在这个"
        "目录上又运行了 d2l 的 reorg_train_valid？请删掉 {root}，再运行一次 reorg_train_valid。",
    "{name}: a symbolic link to {source}": "{name}：指向 {source} 的符号链接",
    "{name}: a hard link, the same file on disk as {source}": "{name}：硬链接，和 {source} 是磁盘上的同一个文件",
    "{name}: a copy of {source} (its own bytes on disk)": "{name}：{source} 的副本（在磁盘上另占一份空间）",
    # --- machinery.caveats -------------------------------------------------------------------------------------
    "STAND-IN DATA": "替身数据",
    "RANDOM WEIGHTS": "随机权重",
    "the data is a synthetic stand-in: the numbers say nothing about the real dataset":
        "数据是合成的替身数据：这些数字不能说明真实数据集上的任何结果",
    "the pretrained weights could not be loaded: the model started from random weights":
        "没能加载预训练权重：模型是从随机权重开始训练的",

    # --- machinery.standins ------------------------------------------------------------------------------------
    "STAND-IN DATA: {name!r} is SYNTHETIC, generated on this machine.":
        "替身数据：{name!r} 是在本机上生成的合成数据，不是真实数据集。",
    "Every number, plot and submission below describes the stand-in, NOT the real dataset. Every result printed "
    "from now on starts with the tag {tag}.":
        "下面的每个数字、每张图和每个提交文件描述的都是替身数据，而不是真实数据集。从现在起，打印的每个结果前面都带有 "
        "{tag} 标记。",
    "Why: {reason}": "原因：{reason}",
    "For real data: set COURSE_DATA_MODE=real (or auto) on a machine that can download it.":
        "要用真实数据：在能下载数据的机器上设置 COURSE_DATA_MODE=real（或 auto）。",
    "the stand-in was asked for (mode 'standin', forced by COURSE_DATA_MODE).":
        "要求使用替身数据（模式 'standin'，由环境变量 COURSE_DATA_MODE 指定）。",
    "the stand-in was asked for (mode 'standin').": "要求使用替身数据（模式 'standin'）。",
    "Stand-in folder: {folder}": "替身数据所在的文件夹：{folder}",
    "STAND-IN DATA for {name!r} (reached through a path): {folder}": "{name!r} 的替身数据（通过路径找到）：{folder}",
    "Using the real {name!r} data in {folder}": "使用真实的 {name!r} 数据：{folder}",
    " ({note})": "（{note}）",
    "an extracted folder; no archive to verify it with": "一个已解压的文件夹，没有压缩包可以用来校验它",
    "{path} (from {folder!r}; a relative path is taken from the repository root {repo}) ":
        "{path}（由 {folder!r} 得到；相对路径从仓库根目录 {repo} 算起）",
    "does not exist": "不存在",
    "lacks {missing}": "缺少 {missing}",
    ". A {name!r} folder holds {layout}: point to the unpacked download, or leave the parameter at None.":
        "。{name!r} 的文件夹里应该有 {layout}：请指向解压后的下载数据，或者把这个参数留为 None。",

    # --- machinery.pretrained ----------------------------------------------------------------------------------
    "Downloading the {arch} weights ({url}) ...": "正在下载 {arch} 的权重（{url}）……",
    "Loaded pretrained {arch} weights {weights} from {path}": "已从 {path} 加载 {arch} 的预训练权重 {weights}",
    "Could not read the weights file {path} ({error}). It is probably damaged: delete it and run again.":
        "无法读取权重文件 {path}（系统的原话：“{error}”）。它很可能已经损坏：请删除它，然后重新运行。",
    "RANDOM WEIGHTS: the pretrained {arch} weights could not be downloaded.": "随机权重：无法下载 {arch} 的预训练权重。",
    "Why: the download failed (the system says: {error}).": "原因：下载失败（系统的原话：“{error}”）。",
    "The model starts from random numbers: it shows the code path, not transfer learning. Every result of this model "
    "(and of its copies) starts with the tag {tag}.":
        "模型从随机数开始：这样的运行只能展示代码能跑通，展示不了迁移学习。这个模型（以及它的副本）的每个结果前面都带有 "
        "{tag} 标记。",
    "To fix: download {url}": "解决办法：下载 {url}",
    "and put it at {path}, then rerun this cell.": "放到 {path}，然后重新运行这个单元格。",

    # --- machinery.submissions, helpers.write_*_submission -----------------------------------------------------
    "{path} is not a valid submission:": "{path} 不是有效的提交文件：",
    "the file does not exist (was it written? is the path right?)": "文件不存在（写出来了吗？路径对吗？）",
    "the file is empty: write it again": "文件是空的：请重新写出",
    "it is not a readable UTF-8 CSV file ({error})": "它不是可以读取的 UTF-8 CSV 文件（系统的原话：“{error}”）",
    "{n} duplicate id(s): {ids}": "{n} 个重复的 id：{ids}",
    "{n} rows, expected {expected} (one per test image)": "有 {n} 行，应该有 {expected} 行（每张测试图像一行）",
    "{n} test id(s) missing: {ids}": "缺少 {n} 个测试 id：{ids}",
    "{n} id(s) not in the test folder: {ids}": "{n} 个 id 不在测试文件夹里：{ids}",
    "columns are {got}, expected {expected}": "列是 {got}，应该是 {expected}",
    "ids are not in numeric order (Kaggle's sample submission is sorted)": "id 没有按数字顺序排列（Kaggle 的提交样例是排好序的）",
    "{n} row(s) have an empty cell, e.g. line {line}": "{n} 行有空单元格，例如第 {line} 行",
    "labels not among the {n} classes: {labels}": "不属于这 {n} 个类别的标签：{labels}",
    "columns differ from 'id' + the {n} sorted classes": "列与 'id' 加上排好序的 {n} 个类别不一致",
    "; missing: {columns}": "；缺少：{columns}",
    "; unexpected: {columns}": "；多出：{columns}",
    " (the order differs: sort the class columns)": "（顺序不同：请把类别列排序）",
    "{n} cell(s) are not numbers, e.g. {cell!r} in row {row}, column {column!r}":
        "{n} 个单元格不是数字，例如第 {row} 行 {column!r} 列的 {cell!r}",
    "{n} row(s) contain NaN or empty cells, e.g. line {line}": "{n} 行含有 NaN 或空单元格，例如第 {line} 行",
    "{n} row(s) have probabilities outside [0, 1], e.g. line {line}": "{n} 行有 [0, 1] 之外的概率，例如第 {line} 行",
    "{n} row(s) do not sum to 1 (within {atol}), e.g. line {line}": "{n} 行的概率之和不是 1（容差 {atol}），例如第 {line} 行",
    "wrote {n} rows to {path}": "已把 {n} 行写入 {path}",
    "wrote {n} rows x {breeds} breeds to {path}": "已把 {n} 行 × {breeds} 个品种写入 {path}",

    # --- machinery.images --------------------------------------------------------------------------------------
    "{path}: a 32-bit float image with values outside [0, 1] ({low:.3g}..{high:.3g}); convert it to 8-bit PNG or JPEG.":
        "{path}：一张取值超出 [0, 1] 的 32 位浮点图像（{low:.3g}..{high:.3g}）；请把它转换成 8 位的 PNG 或 JPEG。",
    "{path}: a 32-bit integer image with values outside 0..65535; convert it to 8-bit PNG or JPEG.":
        "{path}：一张取值超出 0..65535 的 32 位整数图像；请把它转换成 8 位的 PNG 或 JPEG。",
    "{path}: cannot convert mode {mode!r} to RGB ({error}).": "{path}：无法把模式 {mode!r} 转换成 RGB（系统的原话：“{error}”）。",
    "{path}: cannot read this image ({error}). The file is damaged, truncated or not an image: replace or delete it "
    "(re-download or re-extract the data if it came from an archive).":
        "{path}：无法读取这张图像（系统的原话：“{error}”）。文件已损坏、不完整或者不是图像：请替换或删除它（如果数据来自压缩包，"
        "请重新下载或重新解压）。",
    "{directory} has class folder(s) that the training split does not have: {classes}. The model could never "
    "predict them; rebuild the split (helpers.reorg_train_valid) or move those images.":
        "{directory} 里有训练集没有的类别文件夹：{classes}。模型永远不可能预测出这些类别；请重新划分数据集"
        "（helpers.reorg_train_valid），或者把这些图像移走。",
    "a batch holds images of different sizes {sizes}: the transform must give every image one size (add Resize and "
    "CenterCrop), or the data has an image of another size than the rest (fast_loaders' decode cache names such "
    "files)":
        "一个批量里的图像大小不同 {sizes}：变换必须把每张图像变成同一个大小（加上 Resize 和 CenterCrop），"
        "否则就是数据里有一张图像的大小和其他的不同（fast_loaders 的解码缓存会列出这样的文件）",

    # --- machinery.plots (figure text; English where the machine has no Chinese font) ---------------------------
    "epoch": "轮",
    "loss (mean per example)": "损失（每个样本的平均值）",
    "accuracy": "精度",
    "learning rate": "学习率",
    "predicted": "预测类别",
    "true": "真实类别",
    "confusion matrix": "混淆矩阵",

    # --- notebook 00 (toolkit tour) ------------------------------------------------------------------------------
    "real data: no tag": "真实数据：没有标记",
    "this notebook's language: {lang}": "本笔记本的语言：{lang}",
    "{n} labelled images; the first three: {first}": "{n} 张带标签的图片；前三张：{first}",
    "train_valid holds {n} images for {m} labels: delete the train_valid_test folder and run the notebook again":
        "train_valid 里有 {n} 张图片，标签却有 {m} 个：请删除 train_valid_test 文件夹，然后重新运行本笔记本",
    "train + valid differs from train_valid: {counts}": "train 加 valid 和 train_valid 不一致：{counts}",
    "every class should have {n} validation image(s): {valid}": "每个类别都应该有 {n} 张验证图片：{valid}",
    "tour: a small CNN": "导览：一个小 CNN",
    "training should have run {epochs} epoch(s) with accuracies in [0, 1], not: {history}":
        "训练应该跑完 {epochs} 轮，精度都在 [0, 1] 之内，实际是：{history}",
    "the broken submission should raise one SubmissionError listing at least 3 problems, not: {e!r}":
        "坏的提交文件应该引发一个 SubmissionError，并列出至少 3 个问题，实际是：{e!r}",

    # --- notebook 39 (Kaggle CIFAR-10) ----------------------------------------------------------------------------
    "{n_train} training images, {n} labels, {n_test} test images in {folder}":
        "{folder}：{n_train} 张训练图片，{n} 个标签，{n_test} 张测试图片",
    "images per class": "每个类别的图片数",
    "total": "合计",
    "{n} validation image(s) per class, in {folder}": "每个类别 {n} 张验证图片，整理后的目录在 {folder}",
    "train/{file} has {n} name(s) on disk (its link count)": "train/{file} 在磁盘上有 {n} 个名字（它的链接数）",
    "train_valid should have one folder per class of trainLabels.csv; it has {found}. Run the reorganisation cell "
    "again.": "train_valid 里应当有 trainLabels.csv 中每个类别的一个目录，现在是 {found}。请重新运行整理数据集的单元格。",
    "The class {label} is not split into train and valid as planned: delete {tree} and run the reorganisation cell "
    "again.": "类别 {label} 没有按计划划分到 train 和 valid：请删掉 {tree}，再运行整理数据集的单元格。",
    "An image in {label} has another label in trainLabels.csv: delete {tree} and run the reorganisation cell again.":
        "{label} 里有一张图片在 trainLabels.csv 中的标签不是它：请删掉 {tree}，再运行整理数据集的单元格。",
    "test/unknown should hold every image of {test}: delete {tree} and run the reorganisation cell again.":
        "test/unknown 里应当有 {test} 中的每一张图片：请删掉 {tree}，再运行整理数据集的单元格。",
    "data path: {path}": "读取数据的方式：{path}",
    "batches": "批量数",
    "The splits number their classes differently ({classes}): run the reorganisation cell again.":
        "各个划分的类别编号不一致（{classes}）：请重新运行整理数据集的单元格。",
    "valid holds {n} images, not the {expected} the split planned: run the reorganisation cell again.":
        "valid 里有 {n} 张图片，而不是划分计划的 {expected} 张：请重新运行整理数据集的单元格。",
    "The validation loader skips images: it should keep every one (drop_last=False).":
        "验证集的加载器漏掉了图片：它应当保留每一张（drop_last=False）。",
    "The run should train {epochs} epochs at the learning rates {expected}; it trained {got}. Delete an old "
    "checkpoint (CHECKPOINT_DIR) and rerun.":
        "这次训练应当训练 {epochs} 轮，学习率依次是 {expected}；实际是 {got}。请删掉旧的检查点（CHECKPOINT_DIR）后重新运行。",
    "The valid acc should be between 0 and 1, not {acc}.": "验证精度应当在 0 和 1 之间，而不是 {acc}。",
    "valid acc {acc:.3f}: {n_wrong} of {n} wrong": "验证精度 {acc:.3f}：{n} 张中错了 {n_wrong} 张",
    "submission.csv should have the columns id,label and one row per test image ({n}).":
        "submission.csv 应当有 id,label 两列，每张测试图片一行（共 {n} 行）。",
    "The row of test image {id} does not hold that image's own prediction.": "测试图片 {id} 那一行不是它自己的预测。",
    "lr (lr_decay at work)": "学习率（学习率衰减在起作用）",
    "weight_decay (constant)": "权重衰减（不变）",
    "lr x wd (shrink per step)": "学习率 x 权重衰减（每步缩小的比例）",
    "the final run started from run 1's initial weights, not its trained ones: {same}":
        "最后一次训练的起点是第一次训练的初始权重，而不是它训练后的权重：{same}",
    "yes": "是",
    "no": "否",
    "parameter tensors that the final run changed: {n} of {total}":
        "最后一次训练改变了的参数张量：{total} 个中的 {n} 个",
    "with augmentation (run 1)": "用图像增广（第一次训练）",
    "without augmentation": "不用图像增广",

    # --- notebook 40 (Kaggle dog breeds) ------------------------------------------------------------------------------
    "{tag}{n} labelled photos, {breeds} breeds, {test} test photos":
        "{tag}{n} 张有标签的照片，{breeds} 个品种，{test} 张测试照片",
    "labels.csv should have the columns id,breed and list each id once; it has the columns {columns}":
        "labels.csv 应该有 id,breed 两列，并且每个 id 只出现一次；它的列是 {columns}",
    "train/ holds {photos} photos but labels.csv lists {rows}: each row needs its photo train/<id>.jpg, and each photo "
    "its row":
        "train/ 里有 {photos} 张照片，labels.csv 却列了 {rows} 行：每一行都要有对应的照片 train/<id>.jpg，每张照片也都要有它的那一行",
    "labels.csv names breeds that are not among Kaggle's 120 (spelling?): {names}":
        "labels.csv 里有不属于 Kaggle 那 120 个品种的名字（拼写不对？）：{names}",
    "labels.csv has photos of {n} of Kaggle's 120 breeds, but the submission needs a probability for each of the 120: "
    "give every breed at least one labelled photo (missing: {names})":
        "labels.csv 只有 Kaggle 的 120 个品种中 {n} 个品种的照片，但提交文件要给 120 个品种每个都给出概率：请让每个品种至少有一张有标签的照片（缺少：{names}）",
    "{tag}photos per split: {sizes}; validation photos per breed: {counts}":
        "{tag}各划分的照片数：{sizes}；每个品种的验证照片：{counts}",
    "{k} for {b} breed(s)": "{b} 个品种各 {k} 张",
    "No validation set: the epochs below are scored on nothing (no valid loss), and the final run of section 7 trains "
    "on all {n} labelled photos, as it always does.":
        "没有验证集：下面各轮训练之后没有东西可评估（没有验证损失），第 7 节的最后一次训练照常用上全部 {n} 张有标签的照片。",
    "the reorganised folders hold train {train} + valid {valid} photos, train_valid {both}, but labels.csv lists "
    "{rows}: delete the folder {tree} and run this section again":
        "整理后的文件夹里有 train {train} 张 + valid {valid} 张照片，train_valid {both} 张，labels.csv 却列了 {rows} 行：请删除文件夹 {tree}，再运行一次这一节",
    "train/ should hold a folder for each of the 120 breeds, and holds {n}":
        "train/ 里应该每个品种一个文件夹，共 120 个，实际有 {n} 个",
    "{tag}random weights: the BatchNorm statistics were measured on the {n} training photos":
        "{tag}随机权重：批量规范化的统计量是在 {n} 张训练照片上测出来的",
    "{tag}image 0's features move with its batch-mates: d2l's freeze {d2l:.1%}, FrozenBackboneNet {ours:.1%}; d2l's "
    "copy moved bn1.running_mean by up to {moved:.3g}":
        "{tag}第 0 张图像的特征随同批的其他图像而变：d2l 的冻结方式 {d2l:.1%}，FrozenBackboneNet {ours:.1%}；d2l 方式的副本把 bn1.running_mean 改动了最多 {moved:.3g}",
    "the BatchNorm demonstration came out unexpectedly: d2l's freeze should move image 0's features ({d2l:.1%}) and "
    "FrozenBackboneNet should not ({ours:.1%})":
        "批量规范化的演示结果不对：d2l 的冻结方式应该让第 0 张图像的特征变化（{d2l:.1%}），FrozenBackboneNet 不应该（{ours:.1%}）",
    "FrozenBackboneNet should keep its backbone in eval mode while its head trains":
        "输出网络训练时，FrozenBackboneNet 应该让主干网络保持评估模式",
    "the backbone's parameters should be frozen (requires_grad=False)": "主干网络的参数应该是冻结的（requires_grad=False）",
    "frozen ResNet-34 + output network": "冻结的 ResNet-34 + 输出网络",
    "training changed the frozen backbone (its weights or BatchNorm statistics); only the head should change":
        "训练改动了冻结的主干网络（权重或批量规范化的统计量）；应该只有输出网络会变",
    "the backbone left eval mode during training": "训练时主干网络离开了评估模式",
    "{tag}train loss {train:.3f}, valid loss {valid:.3f}, Kaggle's log loss on valid {kaggle:.3f}":
        "{tag}训练损失 {train:.3f}，验证损失 {valid:.3f}，验证集上 Kaggle 的对数损失 {kaggle:.3f}",
    "{tag}cached the 512-d features of {n} photos in {s:.1f} s": "{tag}缓存了 {n} 张照片的 512 维特征，用时 {s:.1f} 秒",
    "the head on the cached scores should give the live net's probabilities, but they differ by up to {d:.2g}":
        "缓存的分数经过输出网络后应该得到和实时网络相同的概率，但两者最多相差 {d:.2g}",
    "the backbone should still be in eval mode": "主干网络应该仍处于评估模式",
    "live: backbone every epoch, augmented": "实时：每轮都跑主干网络，有增广",
    "cached: 1000 ImageNet scores, clean": "缓存：1000 个 ImageNet 分数，无增广",
    "cached: 512-d pooled features, clean": "缓存：512 维汇聚特征，无增广",
    "s / epoch": "秒 / 轮",
    "one-off extraction (s)": "一次性特征提取（秒）",
    "valid loss": "验证损失",
    "valid acc": "验证精度",
    "cached 512-d features, a longer run": "缓存的 512 维特征，训练更多轮",
    "final run: train_valid": "最后一次训练：train_valid",
    "exercise 1: lr {lr:g}": "练习 1：学习率 {lr:g}",
    "the submission's columns should be id and Kaggle's 120 breeds in sorted order":
        "提交文件的列应该是 id 和按名字排序的 Kaggle 的 120 个品种",
    "the submission should have one row per test photo, named by the photo's file name without .jpg":
        "提交文件应该每张测试照片一行，id 是照片去掉 .jpg 的文件名",
    "every row of the submission should hold probabilities that sum to 1": "提交文件的每一行都应该是和为 1 的概率",
    # notebook 40's notes beside d2l's code (machinery.coursecode.notes)
    "The same three steps as d2l's reorg_dog_data: read_csv_labels, reorg_train_valid, reorg_test; one function for "
    "both competitions, the label file's name a parameter, n_valid_per_label returned.":
        "和 d2l 的 reorg_dog_data 一样的三步：read_csv_labels、reorg_train_valid、reorg_test；两个比赛共用一个函数，标签文件名是参数，并返回 n_valid_per_label。",
    "What reorg_train_valid and reorg_test add comes along: links instead of copies, nothing redone when the files are "
    "unchanged, a read-only data folder gets its tree elsewhere (on Kaggle in /kaggle/temp, else the output folder).":
        "reorg_train_valid 和 reorg_test 的补充也都带过来了：用链接代替复制，文件没变就什么都不重做；数据目录只读时，整理后的文件夹放到别处"
        "（Kaggle 上放在 /kaggle/temp，其他地方放在输出目录）。",
    "d2l's get_net puts the pretrained ResNet-34 and the output network in one nn.Sequential and sets requires_grad=False "
    "on the ResNet's parameters: its weights cannot change.":
        "d2l 的 get_net 把预训练的 ResNet-34 和输出网络放进一个 nn.Sequential，并把 ResNet 的参数设为 requires_grad=False：它的权重不会变。",
    "Added: the backbone stays in eval mode whatever train() is called with, so its BatchNorm layers keep ImageNet's "
    "statistics in training, validation and prediction alike (d2l's run in training mode throughout), and the frozen "
    "part runs without building a graph (less memory).":
        "补充：不管 train() 怎么调用，主干网络都保持评估模式，所以它的批量规范化层在训练、验证和预测时都用 ImageNet 的统计量（d2l 的这些层一直处于训练模式）；冻结的部分运行时不构建计算图（省内存）。",
    "The backbone and the head are arguments, so the same class serves the 1000 scores and the 512-d features.":
        "主干网络和输出网络都是参数，所以同一个类既能用于 1000 个分数，也能用于 512 维特征。",
    # --- notebook 38 (Classify Leaves) -----------------------------------------------------------------------------
    "d2l builds the same two parameter groups inside the fine-tuning chapter's train_fine_tuning (param_group=True); "
    "ours is that part alone, so that this notebook's two models can share it.":
        "d2l 在微调一节的 train_fine_tuning 里（param_group=True）构造同样的两个参数组；我们把这一部分单独拿出来，这样本笔记本的两个模型可以共用。",
    "{n_train} labelled photos, {n_test} test photos, {n_species} species":
        "{n_train} 张带标签的照片，{n_test} 张测试照片，{n_species} 个树种",
    "{photos} photos in {groups} groups of duplicates ({exact} byte-identical, {near} near copies); "
    "{conflicts} groups carry two or more species names":
        "{groups} 组重复照片，共 {photos} 张（{exact} 组字节完全相同，{near} 组近似重复）；其中 {conflicts} 组挂着两个以上的树种名",
    "{dropped} training photos with conflicting labels dropped; {left} remain":
        "去掉了 {dropped} 张标签冲突的训练照片，剩下 {left} 张",
    "train {n_train}, valid {n_valid}, test {n_test}": "训练集 {n_train} 张，验证集 {n_valid} 张，测试集 {n_test} 张",
    "No species has enough photos for VALID_RATIO={ratio}: the validation set is empty, so the epochs are scored on "
    "nothing and section 5 has no tricks to compare.":
        "没有一个树种的照片多到能按 VALID_RATIO={ratio} 分出验证照片：验证集是空的，所以每轮训练后不打分，第 5 节也没有东西可比较。",
    "{n} of {total} species send no photo to validation (too few photos for VALID_RATIO={ratio}), e.g. {names}: the "
    "validation accuracy speaks for the others only.":
        "{total} 个树种中有 {n} 个照片太少（按 VALID_RATIO={ratio}），没有分到验证集，例如 {names}：验证精度只代表其余的树种。",
    "Some species have no training photo after the split: rerun the cells from the data cell on.":
        "划分之后有的树种一张训练照片都没有：请从读取数据的单元格开始重新运行。",
    "The training and validation photos overlap or miss some photos: rerun the split cell.":
        "训练照片和验证照片有重叠，或者漏掉了一些照片：请重新运行划分的单元格。",
    "The head's learning rate should be 10 times the body's: {lrs}": "输出层的学习率应该是主体的 10 倍：{lrs}",
    "The new net's body should start as a copy of the pretrained model: rerun the cell that builds it.":
        "新网络的主体一开始应该和预训练模型完全相同：请重新运行构建它的单元格。",
    "model A, fine-tuned on the leaves": "模型 A：在树叶上微调",
    "model B, another seed": "模型 B：换一个随机种子",
    "species, sorted by number of photos": "树种（按照片数排序）",
    "training photos": "训练照片数",
    "photos per species: max {max}, median {median}, min {min}": "每个树种的照片数：最多 {max}，中位数 {median}，最少 {min}",
    "Training loss of the first epoch {first:.2f}; a uniform guess over {c} species scores ln {c} = {chance:.2f}.":
        "第一轮的训练损失 {first:.2f}；在 {c} 个树种上平均猜测的损失是 ln {c} = {chance:.2f}。",
    "No validation photos: the tricks cannot be compared on this data.": "没有验证照片：这份数据上无法比较这些技巧。",
    "model A": "模型 A",
    "model A + flip TTA": "模型 A + 翻转测试时增广",
    "model B + flip TTA": "模型 B + 翻转测试时增广",
    "average of A and B, + flip TTA": "A 和 B 取平均 + 翻转测试时增广",
    "{n} validation photos; a guess scores {chance:.3f}": "{n} 张验证照片；随机猜测的精度是 {chance:.3f}",
    "The submission should hold every test photo once, with known species: rerun the submission cell.":
        "提交文件里每张测试照片应该恰好出现一次，标签都是已知树种：请重新运行写提交文件的单元格。",
    "Both models should have trained {epochs} epochs: rerun the training cells.":
        "两个模型都应该训练了 {epochs} 轮：请重新运行训练的单元格。",


    # --- machinery.coursecode: notes under notebook 37's functions (build_finetune_net, finetune_optimizer) ---------
    "The same target model as d2l's: the pretrained ResNet-18 with its fc replaced by a new Linear(512, 2) with a "
    "Xavier-uniform weight.":
        "和 d2l 的目标模型相同：预训练的 ResNet-18，把 fc 换成新的 Linear(512, 2)，权重用 Xavier 均匀分布初始化。",
    "Changed: d2l loads a second pretrained copy and replaces its fc; ours copies the source model and leaves it as "
    "it is, so every exercise starts from the same source without a new download.":
        "改动：d2l 再加载一份预训练模型，换掉它的 fc；我们复制源模型，源模型本身不动，所以每道练习都从同一个源模型开始，"
        "不用重新下载。",
    "Added: seed draws the same new output layer every time, so configurations can be compared, and reuse_rows starts "
    "chosen outputs from rows of the old output layer (ImageNet's hot dog, row 934).":
        "新增：seed 让新输出层每次都抽到同样的随机数，各个配置之间可以比较；reuse_rows 让指定的输出从旧输出层的某一行"
        "开始（ImageNet 的热狗，第 934 行）。",
    "The same optimiser as d2l's train_fine_tuning with param_group=True: SGD with weight decay, the new output layer "
    "at 10 times the body's learning rate.":
        "和 d2l 的 train_fine_tuning（param_group=True）用的优化器相同：带权重衰减的 SGD，新输出层的学习率是主体的 10 倍。",
    "Changed: the output layer's parameters are picked by identity, not by the names fc.weight and fc.bias, so a head "
    "of any name works; frozen parameters are left out (d2l hands them over too, which PyTorch tolerates, as they get "
    "no gradient), and a fully frozen body leaves one group.":
        "改动：输出层的参数按对象身份挑出，而不是按 fc.weight 和 fc.bias 这两个名字，所以输出层叫什么都行；冻结的参数不"
        "交给优化器（d2l 也会交出去，PyTorch 能容忍，因为它们没有梯度）；整个主体冻结时只剩一组。",

    # --- machinery.pretrained: which case a run is (notebooks 37, 38, 40) --------------------------------------------
    "This run: real photos and ImageNet weights. Its numbers are real results, to compare with d2l's.":
        "本次运行：真实照片 + ImageNet 权重。这里的数字是真实的结果，可以和 d2l 的数字对比。",
    "This run: real photos, but RANDOM weights (no ImageNet weights file). The 'pretrained' model is random numbers "
    "and nothing is transferred from ImageNet: the numbers cannot show what pretraining brings.":
        "本次运行：真实照片，但权重是随机的（没有 ImageNet 权重文件）。“预训练”模型只是一堆随机数，没有从 ImageNet "
        "迁移任何东西：这里的数字说明不了预训练带来了什么。",
    "This run: STAND-IN images (synthetic) and RANDOM weights (no ImageNet weights file). It shows that every cell "
    "runs, not the lecture's lesson.":
        "本次运行：替身图像（合成的）+ 随机权重（没有 ImageNet 权重文件）。它只说明每个单元格都能运行，说明不了本讲的结论。",
    "This run: STAND-IN images (synthetic) with ImageNet weights: ImageNet's features on synthetic pictures, nothing "
    "to compare with d2l's figures.":
        "本次运行：替身图像（合成的）+ ImageNet 权重：在合成图像上用 ImageNet 的特征，没法和 d2l 的数字对比。",

    # --- machinery.standins: a data folder given as a notebook's *_DIR (notebook 37's shapes) ---------------------
    "It has {found}/: if that holds the held-out photos, rename it to test/.":
        "它有 {found}/：如果那里是留出来测试用的照片，请把它改名为 test/。",

    # --- machinery.classfolders: which folder holds the hot dogs (notebook 37) ---------------------------------------
    "Exactly one class folder must hold the hot dogs, named 'hotdog' (or 'hot_dog', 'Hot Dog', 'hotdogs'); the class "
    "folders are {classes}. Rename the hot-dog folder to 'hotdog' in train/ and in test/, then run this cell again.":
        "必须正好有一个类别文件夹装热狗，名字叫 'hotdog'（或 'hot_dog'、'Hot Dog'、'hotdogs'）；现在的类别文件夹是 "
        "{classes}。请在 train/ 和 test/ 里都把装热狗的文件夹改名为 'hotdog'，然后重新运行这个单元格。",
    "The hotdog task has two classes, hot dogs and other food, but train/ holds {n} class folder(s): {classes}. Keep "
    "one folder of hot-dog photos and one of other food.":
        "热狗任务只有两类：热狗和其他食物，但 train/ 里有 {n} 个类别文件夹：{classes}。请只保留一个装热狗照片的文件夹"
        "和一个装其他食物照片的文件夹。",
    "test/ is numbered by its own class folders {test}, not by train/'s {train}: build it with "
    "helpers.image_folder(data_dir / 'test', classes=train_imgs.classes).":
        "test/ 按它自己的类别文件夹 {test} 编号，而不是按 train/ 的 {train}：请用 "
        "helpers.image_folder(data_dir / 'test', classes=train_imgs.classes) 来读取它。",
    "The class folders are {classes} (d2l's: hotdog, not-hotdog): '{name}' holds the hot dogs, class {index}.":
        "类别文件夹是 {classes}（d2l 的是 hotdog 和 not-hotdog）：'{name}' 装的是热狗，是第 {index} 类。",
    "test/ holds no photo: put photos of both classes {classes} there (d2l's set has 400 of each), then run this "
    "cell again.":
        "test/ 里一张照片也没有：请把两类 {classes} 的照片都放进去（d2l 的数据集每类 400 张），然后重新运行这个单元格。",
    "test/ has no photo of '{missing}': every test accuracy below scores '{other}' photos only.":
        "test/ 里没有 '{missing}' 的照片：下面的每个测试精度都只是在 '{other}' 的照片上算出来的。",
    "Training photos per class {counts}: enough to run every cell, far too few to learn from (d2l's set has 1,000 "
    "per class).":
        "每类的训练照片 {counts}：够每个单元格跑通，但要学到东西远远不够（d2l 的数据集每类 1000 张）。",

    # --- notebook 37 ---------------------------------------------------------------------------------------------
    "train: {n_train} images, test: {n_test} images, classes {classes}":
        "训练集 {n_train} 张图像，测试集 {n_test} 张，类别 {classes}",
    "train/ must hold photos, and test/ must number its classes as train/ does: run the cells above again":
        "train/ 里必须有照片，test/ 的类别编号必须和 train/ 的一样：请重新运行上面的单元格",
    "in d2l's folders the hot dogs are class 0, not {h}: run the cells above again":
        "在 d2l 的文件夹里热狗是第 0 类，不是第 {h} 类：请重新运行上面的单元格",
    "output layer: {fc}; ImageNet class {k}: '{name}'": "输出层：{fc}；ImageNet 第 {k} 类：'{name}'",
    "the target model must copy every layer but fc from the source model: run the cells above again":
        "目标模型必须从源模型复制除 fc 以外的每一层：请重新运行上面的单元格",
    "the new output layer must have 2 outputs and the source keep its 1,000: run the cells above again":
        "新的输出层必须有 2 个输出，源模型仍保留 1000 个：请重新运行上面的单元格",
    "fine-tuned": "微调",
    "the optimiser must have a 'body' group at LR and a 'head' group at 10 x LR: run the cells above again":
        "优化器必须有学习率为 LR 的 'body' 组和学习率为 10 × LR 的 'head' 组：请重新运行上面的单元格",
    "the 'head' group must hold exactly the new output layer's parameters: run the cells above again":
        "'head' 组里必须恰好是新输出层的参数：请重新运行上面的单元格",
    "from scratch": "从零训练",
    "{epochs} epochs, {size}-pixel images, {n} training images": "{epochs} 轮，{size} 像素的图像，{n} 张训练图像",
    "test acc at start": "训练前的测试精度",
    "test acc": "测试精度",
    "train acc": "训练精度",
    "train loss": "训练损失",
    "trainable params": "可训练参数",
    "time/epoch (s)": "每轮时间（秒）",
    "With {n} test images, one run's test accuracy is uncertain by about ±{se:.2f}: two runs must differ by more "
    "than about {diff:.2f} before the difference means anything.":
        "测试集有 {n} 张图像，一次运行的测试精度本身就有约 ±{se:.2f} 的误差：两次运行相差超过约 {diff:.2f}，这个差别才说明得了什么。",
    "backward() fails: {error}": "backward() 报错：“{error}”",
    "nothing frozen": "不冻结",
    "frozen: whole body": "冻结：整个主体",
    "frozen: stem to {upto}": "冻结：起始层到 {upto}",
    "exercise 3: freezing the lower layers": "练习 3：冻结低层",
    "a frozen body must not change in training: run the cells above again":
        "冻结的主体在训练中不能改变：请重新运行上面的单元格",
    "with the whole body frozen only the 1,026 parameters of the new output layer train, not {n}":
        "冻结整个主体后，只有新输出层的 1026 个参数参与训练，而不是 {n} 个",
    "freezing must leave fewer trainable parameters, but never none: run the cells above again":
        "冻结后可训练参数必须变少，但不能一个都不剩：请重新运行上面的单元格",
    "the hot-dog output must start from ImageNet's row 934: run the cells above again":
        "热狗那个输出必须从 ImageNet 的第 934 行开始：请重新运行上面的单元格",
    "the other output must keep its random start: run the cells above again":
        "另一个输出必须保持随机初始化：请重新运行上面的单元格",
    "hot dog from ImageNet row {k}": "热狗输出取自 ImageNet 第 {k} 行",
    "exercise 4: the hot-dog output starts from ImageNet's class 934": "练习 4：热狗那个输出从 ImageNet 的第 934 类开始",
    "fine-tuned vs from scratch (this run)": "微调与从零训练（本次运行）",
    "exercise 1: learning rate": "练习 1：学习率",
    "body learning rate (new output layer: 10x)": "主体的学习率（新输出层：10 倍）",
    "train loss, last epoch": "训练损失（最后一轮）",
    "test acc, last epoch": "测试精度（最后一轮）",

    # --- platform: machinery.datahub, machinery.platforms, machinery.alttext, tools/run_notebooks.py -------------
    # datahub: downloads and extraction
    "What to do:\n  1. on a machine with internet, download {url}\n     and put it at {path}{sha}, then run again; or\n"
    "  2. use the synthetic stand-in: set COURSE_DATA_MODE=standin, or call get_dataset({name!r}, mode='standin').\n"
    "     Results on the stand-in are NOT results on the real data.":
        "怎么办：\n  1. 在能上网的机器上下载 {url}\n     放到 {path}{sha}，然后重新运行；或者\n"
        "  2. 使用合成的替身数据：设置 COURSE_DATA_MODE=standin，或调用 get_dataset({name!r}, mode='standin')。\n"
        "     在替身数据上得到的结果不是真实数据上的结果。",
    " (its sha1 must be {sha1})": "（它的 sha1 必须是 {sha1}）",
    "{path} is partial or corrupt (sha1 mismatch): downloading it again.":
        "{path} 不完整或已损坏（sha1 不符）：重新下载。",
    "Downloading {url} ({mb:.1f} MB)": "正在下载 {url}（{mb:.1f} MB）",
    "Downloading {url}": "正在下载 {url}",
    "the transfer was cut short: {size} of {expected} bytes arrived": "传输中断：只收到 {expected} 字节中的 {size} 字节",
    "sha1 mismatch: got {got}, expected {sha1} (a wrong or damaged file)":
        "sha1 不符：得到 {got}，应为 {sha1}（文件不对或已损坏）",
    "Could not download {name!r}: the server answered HTTP {code} {reason} for {url}.":
        "无法下载 {name!r}：服务器对 {url} 的回应是 HTTP {code} {reason}。",
    "the transfer was cut short: {n} bytes of the last block arrived": "传输中断：最后一块只收到 {n} 字节",
    "Could not download {name!r} from {url}: the network is unreachable or slow ({reason}).":
        "无法从 {url} 下载 {name!r}：网络不通或太慢（{reason}）。",
    "Attempt {attempt}/{attempts} failed: {problem}.": "第 {attempt}/{attempts} 次尝试失败：{problem}。",
    "Could not download {name!r} from {url}: {problem}. Nothing was saved.":
        "无法从 {url} 下载 {name!r}：{problem}。没有保存任何文件。",
    "Refusing to extract: archive entry {member!r} would be written outside {base}. The archive is malformed or "
    "malicious; delete it.":
        "拒绝解压：压缩包中的条目 {member!r} 会被写到 {base} 之外。这个压缩包有缺陷或是恶意的，请删除它。",
    "{path} is not a zip or tar archive; only those can be extracted.": "{path} 不是 zip 或 tar 压缩包，只能解压这两种。",
    "Refusing to extract {archive}: it contains links.": "拒绝解压 {archive}：其中含有链接。",
    "{archive} is not a readable archive ({e}). Delete it and run again to download a fresh copy.":
        "{archive} 不是可读的压缩包（{e}）。请删除它并重新运行，以下载一份新的。",
    "{archive} is not a readable zip ({e}). Delete it and download it again.":
        "{archive} 不是可读的 zip 文件（{e}）。请删除它并重新下载。",
    "The {name!r} data is not in {folder}. Kaggle serves it only to signed-in users who accepted the competition "
    "rules (kaggle.com/c/{slug}). With the kaggle CLI and an API token:\n     {command}\nor download {slug}.zip from "
    "the competition page and put it at {archive}. On Kaggle Notebooks, attach the competition (Add Input). Or use "
    "the stand-in: COURSE_DATA_MODE=standin.":
        "{folder} 中没有 {name!r} 数据。Kaggle 只向已登录并接受了竞赛规则的用户提供这份数据（kaggle.com/c/{slug}）。"
        "装好 kaggle 命令行工具和 API 令牌后运行：\n     {command}\n或者从竞赛页面下载 {slug}.zip，放到 {archive}。"
        "在 Kaggle Notebooks 上，请把竞赛添加为输入（Add Input）。也可以使用替身数据：COURSE_DATA_MODE=standin。",
    # platforms: Kaggle Notebooks, 7z archives, loader workers
    "Kaggle Notebooks input, read-only": "Kaggle Notebooks 的输入目录，只读",
    "extracted from {src}": "从 {src} 解压",
    "Kaggle Notebooks: no {slug!r} data under {input} (attach it with Add Input > Competitions > {slug}); looking "
    "elsewhere.":
        "Kaggle Notebooks：{input} 下没有 {slug!r} 数据（用 Add Input > Competitions > {slug} 添加它）；改为在别处查找。",
    "{archive} is not a readable 7z archive ({why}). Delete it and download it again.":
        "{archive} 不是可读的 7z 压缩包（{why}）。请删除它并重新下载。",
    "Extracting {archive} needs py7zr or the 7z tool: pip install py7zr":
        "解压 {archive} 需要 py7zr 或 7z 工具：pip install py7zr",
    "Extracting {archive} ({mb:.0f} MB, {n:,} entries) to {target}, once; this can take minutes.":
        "正在把 {archive}（{mb:.0f} MB，{n:,} 个条目）解压到 {target}，只做一次；可能需要几分钟。",
    "{tool} could not extract {archive}: {why}": "{tool} 无法解压 {archive}：{why}",
    "  done in {s:.0f} s with {how}.": "  完成，用 {how} 耗时 {s:.0f} 秒。",
    "Kaggle Notebooks: this submission comes from STAND-IN data, so it is not copied to {target}.":
        "Kaggle Notebooks：这份提交来自替身数据，所以不复制到 {target}。",
    "Kaggle Notebooks: the submission is also at {target}, where Submit takes it from.":
        "Kaggle Notebooks：提交文件也已写到 {target}，Submit 按钮从那里读取它。",
    "Data loading runs in the main process (num_workers=0): on this system DataLoader workers start with '{method}', "
    "and such a worker cannot use what a notebook cell defines.":
        "数据在主进程中读取（num_workers=0）：在这个系统上 DataLoader 的工作进程以 '{method}' 方式启动，"
        "这样的工作进程用不了笔记本单元格里定义的东西。",
    # alttext: figures' alternative text
    "Figure: {what}": "图：{what}",
    "Figure with {n} panel(s) and no titles": "图：{n} 个子图，没有标题",
    # tools/run_notebooks.py (make run)
    "stopped at code cell {i}: {error} (see {path})": "停在第 {i} 个代码单元格：{error}（见 {path}）",
    "  ({n} HTML warning(s): {first})": "  （HTML 导出有 {n} 条警告：{first}）",
    "{ok} of {n} notebooks ran to the end in {s:.0f} s{stopped}. Executed notebooks (.ipynb, .html), figures and "
    "submissions: {out}":
        "{n} 个笔记本中有 {ok} 个运行到了最后，用时 {s:.0f} 秒{stopped}。执行后的笔记本（.ipynb、.html）、图和提交文件在：{out}",
    "; stopped: {names}": "；停下的：{names}",
    # tools/colab_links.py (make colab-links)
    "The address, the setup cells and the Colab badges agree.": "仓库地址、各准备单元格和 Colab 徽章一致。",
    "{url!r} is not a GitHub repository address: give https://github.com/OWNER/REPO":
        "{url!r} 不是 GitHub 仓库地址：请给出 https://github.com/OWNER/REPO",
    "Wrote {url} into {file}, {n} setup cells and the README's Colab badges.":
        "已把 {url} 写入 {file}、{n} 个准备单元格和 README 的 Colab 徽章。",

    # --- machinery.storage, settings.output_dir, checkpoints, folders, fastdata, labels (robust) ---------------------
    "{folder} is on Google Drive, but Drive is not mounted at {root}: {what} would go to a local folder that "
    "disappears when this Colab session ends. Mount Drive first, then run this cell again:\n"
    "    from google.colab import drive; drive.mount('{root}')":
        "{folder} 在 Google Drive 上，但 Drive 没有挂载到 {root}：{what} 会被写到一个本地目录里，这个 Colab 会话结束时它就会"
        "消失。请先挂载 Drive，然后重新运行这个单元格：\n"
        "    from google.colab import drive; drive.mount('{root}')",
    "Cannot write {what} in {folder} ({error}). Choose a folder you can write to (or make this one writable), then run "
    "this cell again.":
        "无法在 {folder} 中写入{what}（系统提示：“{error}”）。请选择一个可以写入的目录（或者让这个目录可写），然后重新运行这个单元格。",
    "Not enough free space for {what} in {folder}: {free} free, about {need} needed. Free some space (old checkpoints, "
    "outputs, data you no longer need) or choose a folder on another disk, then run this cell again.":
        "{folder} 中没有足够的空间存放{what}：剩余 {free}，大约需要 {need}。请腾出一些空间（旧的检查点、输出、不再需要的"
        "数据），或者换一个在另一块磁盘上的目录，然后重新运行这个单元格。",
    "Not enough free file entries (inodes) for {what} in {folder}: {free} left, {need} needed. Delete files you no "
    "longer need or choose a folder on another disk, then run this cell again.":
        "{folder} 中没有足够的文件条目（inode）存放{what}：剩余 {free} 个，需要 {need} 个。请删除不再需要的文件，或者换一个"
        "在另一块磁盘上的目录，然后重新运行这个单元格。",
    "figures, checkpoints and submissions": "图、检查点和提交文件",
    "the checkpoint {name}": "检查点 {name}",
    "The previous checkpoint is kept.": "之前的检查点仍然保留。",
    "There was no previous checkpoint.": "之前还没有检查点。",
    "The disk is full: the checkpoint {path} could not be saved ({free} free, about {need} needed). {kept} The partial "
    "file was removed. Free some space (or pass a checkpoint path on another disk) and run again: training resumes "
    "from the last saved epoch.":
        "磁盘已满：无法保存检查点 {path}（剩余 {free}，大约需要 {need}）。{kept}写了一半的文件已删除。请腾出一些空间（或者"
        "把检查点路径换到另一块磁盘上）后再运行：训练会从最后保存的那一轮接着进行。",
    "{data_dir} is read-only: the reorganised folders go to {outside}": "{data_dir} 是只读的：整理后的目录放到 {outside}",
    "the reorganised folders": "整理后的目录",
    "Another notebook or process is reorganising into {out}; waiting until it has finished.":
        "另一个笔记本或进程正在把数据整理到 {out}，等它完成后再继续。",
    "The disk filled up while reorganising {src} into {out} ({free} free, about {need} needed). What was built was "
    "removed: no half-built folder will be used. Free some space, then run this cell again.":
        "把 {src} 整理到 {out} 时磁盘满了（剩余 {free}，大约需要 {need}）。已经建好的部分已删除，不会使用只建了一半的目录。"
        "请腾出一些空间，然后重新运行这个单元格。",
    "{n} symbolic link(s)": "{n} 个符号链接",
    "{n} copied file(s)": "{n} 个复制的文件",
    "{out}: hard links were not possible here; used {used}.": "{out}：这里无法使用硬链接，改用了{used}。",
    "the decode cache of {folder}": "“{folder}”的解码缓存",
    "{problem} Until then the decoded images are kept in memory only (this run is not affected).":
        "{problem}在此之前，解码后的图像只保存在内存中（本次运行不受影响）。",
    "Another notebook or process is decoding {folder}; waiting until it has finished.":
        "另一个笔记本或进程正在解码 {folder}，等它完成后再继续。",
    "Could not write the decode cache {path} ({error}); the partial file was removed. The decoded images are kept in "
    "memory only.":
        "无法写入解码缓存 {path}（系统提示：“{error}”），写了一半的文件已删除。解码后的图像只保存在内存中。",
    "Some labels for {where} differ only in upper/lower case, spaces, underscores or hyphens, so each spelling "
    "would become a class of its own ({n} classes instead of {meant}; a submission's columns would no longer "
    "match the competition's). Spellings, with their number of images and one id each: {groups}. Give each "
    "class one spelling in the label file (the competition's own, usually lowercase), then run this cell "
    "again.":
        "{where} 的标签中有些只在大小写、空格、下划线或连字符上不同，每种写法都会成为一个单独的类别（{n} 个类别，而不是 {meant} 个；提交文件的"
        "列也会与竞赛的对不上）。各种写法及其图像数量和其中一个 id：{groups}。请在标签文件中让每个类别只用一种写法（竞赛"
        "自己的写法，通常是小写），然后重新运行这个单元格。",
    "The checkpoint {path} cannot be read ({error}). It is damaged or incomplete (a copy or a Drive sync cut short?). "
    "Nothing was loaded. Delete it to start afresh, or put a complete copy there.":
        "无法读取检查点 {path}（系统提示：“{error}”）。它已损坏或不完整（复制或 Drive 同步中途被打断？）。什么都没有加载。删除它就会从头"
        "开始训练，或者把一份完整的副本放到那里。",
    "The checkpoint {path} lacks {missing}: it was not written by train_ch13. Nothing was loaded. Delete it or pass "
    "another checkpoint path.":
        "检查点 {path} 缺少 {missing}：它不是由 train_ch13 写入的。什么都没有加载。请删除它，或者换一个检查点路径。",
    "{name}: missing in the checkpoint": "{name}：检查点中没有",
    "{name}: not in this net": "{name}：这个网络中没有",
    "{name}: shape {saved} in the checkpoint, {here} here": "{name}：检查点中的形状是 {saved}，这里是 {here}",
    "optimiser: parameter groups of sizes {saved} in the checkpoint, {here} here (other layers frozen or trained?)":
        "优化器：检查点中参数组的大小是 {saved}，这里是 {here}（冻结或训练的层不一样？）",
    " (and {n} more)": "（还有 {n} 处）",
    "The checkpoint {path} was made for another net or optimiser; nothing was loaded. Differences: "
    "{differences}{more}. Delete it to start afresh, or pass another checkpoint path.":
        "检查点 {path} 是为另一个网络或优化器保存的，什么都没有加载。不同之处：{differences}{more}。删除它就会从头开始训练，"
        "或者换一个检查点路径。",
    "{path}: the optimiser settings given now differ from the checkpoint's ({changes}). The settings given now win "
    "from epoch {next} on; epochs 1-{done} keep what they were trained with. To train every epoch with the new "
    "settings, delete the checkpoint.":
        "{path}：现在给出的优化器设置与检查点中的不同（{changes}）。从第 {next} 轮起使用现在给出的设置；第 1-{done} 轮保持"
        "原来训练时的设置。如果想让每一轮都用新设置训练，请删除这个检查点。",
    "Resuming from {path}: {n} epoch(s) already done.": "从 {path} 继续训练：已经完成 {n} 轮。",
    "The checkpoint {path} still holds the last good epoch ({epoch}); ":
        "检查点 {path} 仍然保存着最后一个正常的轮（第 {epoch} 轮）；",
    "No checkpoint holds a good state (none was asked for, or none was written yet); ":
        "没有检查点保存着正常的状态（没有要求保存检查点，或者还没有写入）；",
    "The training loss became {loss} in epoch {epoch}, batch {batch} of {batches}; training stopped. {kept}the "
    "weights in memory are no longer usable. Likely causes: a learning rate too large (now {lrs}; with d2l's loss "
    "summed over the batch the step grows with the batch size: try 10x smaller), inputs that are not normalised, or "
    "a corrupt image (NaN pixels). Rebuild the net and optimiser with a smaller learning rate and run again{then}":
        "训练损失在第 {epoch} 轮的第 {batch} 个批量（共 {batches} 个）变成了 {loss}，训练已停止。{kept}内存中的权重已经"
        "不能再用。可能的原因：学习率太大（现在是 {lrs}；d2l 的损失是对整个批量求和的，步长会随批量大小增大：试试小 10 倍的"
        "学习率）、输入没有规范化，或者有损坏的图像（像素为 NaN）。请用更小的学习率重新构建网络和优化器，然后再运行{then}",
    ": training resumes from the checkpoint.": "：训练会从检查点接着进行。",
    "{fname} is not UTF-8 text ({error}). Save it as UTF-8 (Excel: 'CSV UTF-8').":
        "{fname} 不是 UTF-8 文本（系统提示：“{error}”）。请把它保存为 UTF-8（在 Excel 中选 'CSV UTF-8'）。",
    "{fname}, line {line}: expected {n} non-empty cells, got {row}":
        "{fname} 第 {line} 行：应该有 {n} 个非空的单元格，实际是 {row}",
    "{folder} has no images and the label file no rows: nothing to reorganise. Is this the right folder (a partial "
    "download or unzip)?":
        "{folder} 中没有图像，标签文件中也没有数据行：没有可以整理的东西。这是正确的目录吗（下载或解压不完整？）",
    "{n} image(s) in {folder} have no label: {names}": "{folder} 中有 {n} 张图像没有标签：{names}",
    "{n} labelled id(s) have no image in {folder}: {names}": "有 {n} 个带标签的 id 在 {folder} 中没有图像：{names}",
    "the label ids look like file names with extensions; ids are file names WITHOUT extension":
        "标签中的 id 看起来像带扩展名的文件名；id 应该是不带扩展名的文件名",
    "{problems}. Fix the label file or the folder (a partial unzip?) and run again.":
        "{problems}。请修正标签文件或目录（解压不完整？），然后再运行。",
    "no {col} column in the table (columns: {columns})": "表格中没有 {col} 列（现有的列：{columns}）",
    "{n} image(s) listed with different labels, e.g. {first}: {labels}":
        "有 {n} 张图像列出了不同的标签，例如 {first}：{labels}",
    "{n} image file(s) listed in the table are missing under {root}: {names}":
        "表格中列出的 {n} 个图像文件在 {root} 下找不到：{names}",
    "{n} label(s) are not among the {k} known classes: {names}": "有 {n} 个标签不在已知的 {k} 个类别中：{names}",
}
