"""machinery: the engine room behind helpers.py.

helpers.py is the lecture layer: the functions lectures 37-40 teach, with d2l's names and contracts, each short
enough to read in a notebook. Everything a learner need not read to follow a lecture lives here, one module per
concern, in five groups. helpers imports these modules; they never import helpers (tools/import_graph.py draws it).

    foundations
      settings      where things live: repository, data and output folders, COURSE_* variables, notebook detection
      constants     facts about the datasets: class names, channel means and standard deviations, image suffixes
      caveats       honesty labels: the [STAND-IN DATA] / [RANDOM WEIGHTS] tag on every printed result, boxed banners
      messages      what a learner reads, in the notebook's language: tr(), learner errors shown without a
                    traceback, check() for check cells
      messages_zh   the Chinese catalogue: every sentence a learner reads, English -> Chinese, with the same fields
      storage       before writing: a writable folder with room for what will be written (not an unmounted Google
                    Drive), one StorageError saying what to do; a lock for builds that two processes may start
    data in
      datahub       verified downloads (sha1, retries, timeouts, atomic writes) and safe extraction of archives
      standins      synthetic stand-in datasets with the real on-disk layouts, and the real-or-stand-in choice
      labels        label files and tables read as UTF-8 and checked against the image files
      folders       file listings in natural order, links or copies, where a reorganised tree lives, rebuilds
      images        reading one image file: named errors, 16-bit and other unusual modes, one class numbering
      duplicates    duplicate and near-duplicate photos in an image table, and label conflicts among them
      classfolders  which class folder holds the hot dogs, whatever a hot-dog set calls it; what each split holds
      platforms     where the notebooks run: Kaggle Notebooks' input and submission.csv, .7z archives extracted once,
                    loader workers on Windows and macOS (spawn)
    speed
      fastdata      the fast data path: decode once, augment whole batches on the device (FastLoader)
      accel         devices and speed switches: MPS, mixed precision, channels_last, moving batches
    training
      checkpoints   atomic saves, all-or-nothing resumes, random-number-generator state, stopping a diverged run
      progress      the live progress line and plot of a training run (train_ch13's Board)
      scoring       one-pass scoring (accuracy, mean loss) and constant predictions said in one sentence
      pretrained    torchvision's pretrained weights, with a loud random-weights fallback offline
    results out
      submissions   checking Kaggle submission files before they are uploaded
      plots         drawing internals: images from tensors, training curves, confusion matrices, caveat titles
      coursecode    the course's own code beside ours: d2l's version read from the installed package, or a link
      alttext       alternative text for every figure, made from its own titles and labels (notebooks, make run's HTML)
"""
