# One-command set-up and runs. Every target creates ./.venv on first use (about 1-2 minutes), then reuses it.
#   make run    execute every notebook (zh and en) headless -> outputs/ (executed .ipynb, .html, figures, submissions)
#   make test   unit tests + nbval over every notebook, on stand-in data
#   make lab    JupyterLab on this folder
#   make strip  remove outputs from the committed notebooks
#   make bench  fast data path vs d2l, one process -> outputs/bench.json (<10 min on 2 cores; BENCH_ARGS=--quick)
#   make rehearsal  the CIFAR-10 and dog pipelines at the competitions' full size: time and peak memory per step
#               against Colab's 12 GB -> outputs/rehearsal.json (generation ~6 min once, ~10 GB disk; REHEARSAL_ARGS=--quick)
#   make stats  each notebook's language and visible code lines
#   make colab-links URL=https://github.com/OWNER/REPO   the repository's address -> tools/repository_url.txt, every
#               notebook's setup cell and the README's Open-in-Colab badges (without URL: rewrite them from the file)
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
NOTEBOOKS = $(sort $(wildcard notebooks/zh/[0-9]*.ipynb notebooks/en/[0-9]*.ipynb))
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: setup run test unit nbval lab strip bench rehearsal stats colab-links clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e .
	$(PY) -m pip install -q --no-deps d2l==1.0.3
	$(PY) -c "import helpers, torch, torchvision, nbval, papermill; from d2l import torch as d2l; print('environment ok: torch', torch.__version__)"
	touch $(STAMP)

# One line per notebook and a summary (tools/run_notebooks.py); COURSE_LANG=zh prints them in Chinese.
run: $(STAMP)
	@COURSE_HEADLESS=1 COURSE_OUTPUT_DIR=$(CURDIR)/outputs $(PY) tools/run_notebooks.py $(NOTEBOOKS)

# Tests run on stand-in data (COURSE_DATA_MODE=standin) so they need no internet and fit a 2-core CPU.
test: $(STAMP)
	COURSE_DATA_MODE=standin COURSE_HEADLESS=1 COURSE_OUTPUT_DIR=$(CURDIR)/outputs/test \
	  $(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -v --durations=15

unit: $(STAMP)
	COURSE_DATA_MODE=standin $(PY) -m pytest tests -v

bench: $(STAMP)
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

rehearsal: $(STAMP)
	nice -n 10 $(PY) benchmarks/rehearsal.py $(REHEARSAL_ARGS)

stats:
	python3 tools/notebook_stats.py 150

colab-links: $(STAMP)
	$(PY) tools/colab_links.py $(URL)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks

strip: $(STAMP)
	$(VENV)/bin/jupyter nbconvert --log-level WARN --clear-output --inplace \
	  --ClearMetadataPreprocessor.enabled=True --ClearMetadataPreprocessor.preserve_cell_metadata_mask=tags \
	  --ClearMetadataPreprocessor.preserve_cell_metadata_mask=jupyter \
	  --ClearMetadataPreprocessor.preserve_nb_metadata_mask=kernelspec \
	  --ClearMetadataPreprocessor.preserve_nb_metadata_mask=language_info \
	  notebooks/*/*.ipynb

clean:
	rm -rf outputs
