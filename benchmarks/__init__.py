"""How fast does mnistlab train? The training-speed benchmark, one idea per file.

Run it from the repository root (`python3 run.py bench --help` lists the options):

    python3 run.py bench                          # every network (several minutes on 2 cores)
    python3 run.py bench --quick                  # a few batches of everything: does it run?
    python3 run.py bench --data-dir ../shared/mnist --json bench.json

It compares two ways of feeding the same network, with the same batch size and optimizer:

* the **tutorial pipeline (torchvision + DataLoader)**: `torchvision.datasets.MNIST` with
  ToTensor + Normalize applied to every digit, a `DataLoader`, and a loop that reads
  `loss.item()` after every step, as most MNIST tutorials write it;
* the **mnistlab fast path**: the whole split normalised once and kept on the device
  (`mnistlab.TensorLoader`), and a loop that never waits for the device (the loop that
  `mnistlab.fit` runs; `overhead.py` measures that `fit` costs no more than it).

Where to look:

| file | what it holds |
| --- | --- |
| `machine.py` | facts about the machine; the memory a run holds |
| `timing.py` | the stopwatch and the interleaved timing windows every number comes from |
| `flops.py` | multiply-adds per image, counted with forward hooks; the matrix-multiply peak |
| `pipelines.py` | the two pipelines' training loops, and the speed settings (layout, precision) |
| `speed.py` | one network timed both ways in every setting; thread settings |
| `overhead.py` | `mnistlab.fit` against a bare loop on the same loader and model |
| `accuracy.py` | time to a test accuracy: `cnn_bn`'s recipe and the PyTorch example's |
| `report.py` | the tables |
| `cli.py` | the command line and the order of the run |
| `gpu_check.sh` | the GPU run: set-up, notebooks 06a and 06b, CUDA settings, tables to a folder |
"""
