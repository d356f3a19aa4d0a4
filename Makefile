# One-command set-up and runs. Every target creates ./.venv on first use (about 1-2 minutes), then reuses it.
#   make run    execute every notebook (zh and en) headless -> outputs/ (executed .ipynb, .html, figures, submissions)
#   make test   unit tests + nbval over every notebook, on stand-in data
#   make lab    JupyterLab on this folder
#   make strip  remove outputs from the committed notebooks
#   make bench  fast data path vs d2l, one process -> outputs/bench.json (<10 min on 2 cores; BENCH_ARGS=--quick)
#   make rehearsal  the CIFAR-10 and dog pipelines at the competitions' full size: time and peak memory per step
#               against Colab's 12 GB -> outputs/rehearsal.json (generation ~6 min once, ~10 GB disk; REHEARSAL_ARGS=--quick)
#   make stats  each notebook's language and visible code lines
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
NOTEBOOKS = $(sort $(wildcard notebooks/zh/[0-9]*.ipynb notebooks/en/[0-9]*.ipynb))
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: setup run test unit nbval lab strip bench rehearsal stats clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e .
	$(PY) -m pip install -q --no-deps d2l==1.0.3
	$(PY) -c "import helpers, torch, torchvision, nbval, papermill; from d2l import torch as d2l; print('environment ok: torch', torch.__version__)"
	touch $(STAMP)

run: $(STAMP)
	@start=$$(date +%s); for nb in $(NOTEBOOKS); do \
	  lang=$$(basename $$(dirname $$nb)); name=$$(basename $$nb .ipynb); t0=$$(date +%s); \
	  mkdir -p outputs/notebooks/$$lang; \
	  COURSE_HEADLESS=1 COURSE_OUTPUT_DIR=$(CURDIR)/outputs $(VENV)/bin/papermill --log-level WARNING --cwd $$(dirname $$nb) \
	    $$nb outputs/notebooks/$$lang/$$name.ipynb || exit 1; \
	  $(VENV)/bin/jupyter nbconvert --log-level WARN --to html --embed-images \
	    --TagRemoveInputPreprocessor.enabled=True --TagRemoveInputPreprocessor.remove_input_tags=check \
	    outputs/notebooks/$$lang/$$name.ipynb || exit 1; \
	  echo "== $$lang/$$name: $$(( $$(date +%s) - t0 )) s"; \
	done; echo "Executed notebooks, HTML, figures and submissions are in outputs/ ($$(( $$(date +%s) - start )) s)"

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
