"""machinery: the engine room behind helpers.py.

helpers.py is the lecture layer: the functions lectures 37-40 teach, with d2l's names and contracts, each short
enough to read in a notebook. Everything a learner need not read to follow a lecture lives here, one module per
concern. helpers imports these modules; they never import helpers.

    settings      where things live: repository, data and output folders, COURSE_* variables, notebook detection
    constants     facts about the datasets: class names, channel means and standard deviations, image suffixes
    caveats       honesty labels: the [STAND-IN DATA] / [RANDOM WEIGHTS] tag on every printed result, boxed banners
    datahub       verified downloads (sha1, retries, timeouts, atomic writes) and safe extraction of archives
    standins      synthetic stand-in datasets with the real on-disk layouts, and the real-or-stand-in choice
    folders       file listings in natural order, links or copies, rebuild manifests for reorganised trees
    images        reading one image file: named errors, 16-bit and other unusual modes
    fastdata      the fast data path: decode once, augment whole batches on the device (FastLoader)
    accel         devices and speed switches: MPS, mixed precision, channels_last, moving batches
    checkpoints   atomic saves and all-or-nothing resumes, random-number-generator state
    progress      the live progress line and plot of a training run
    pretrained    torchvision's pretrained weights, with a loud random-weights fallback offline
    submissions   checking Kaggle submission files before they are uploaded
    plots         drawing internals: training curves, confusion matrices, the d2l Animator backend
"""
