"""The benchmark's report as text: the machine, the speed table, fit's overhead, threads,
and time to accuracy. `format_report` takes the dict `cli.run_benchmark` returns (or its
JSON), so a saved run can be printed again."""

from mnistlab.metrics import accuracy_margin

from .pipelines import FAST_PATH, TUTORIAL


def _header(report):
    machine, settings = report["machine"], report["settings"]
    device = machine["device"] + (f" ({machine['gpu']})" if "gpu" in machine else "")
    lines = [
        f"machine: {machine['cpu']}, {machine['usable_cores']} usable of "
        f"{machine['cpu_count']} cores; PyTorch {machine['torch']}",
        f"device: {device}, OMP_WAIT_POLICY {machine['omp_wait_policy']}; "
        f"bfloat16 in hardware: {'yes' if machine['native_bfloat16'] else 'no'} (CPU)",
    ]
    busy = machine.get("busy_before")
    if busy is not None and busy >= 0.2:
        lines.append(f"note: other programs used {busy:.0%} of the CPU just before this "
                     "started, so these numbers are lower (and noisier) than the machine's best.")
    lines += [
        f"data: {settings['data']}, {settings['train_images']:,} training images; batch "
        f"{settings['batch_size']}, {settings['optimizer']}; fastest of {settings['rounds']} "
        f"interleaved {settings['window']:g}-second windows"
        + (" (quick mode: the numbers mean little)" if settings["quick"] else ""),
        f"peak: {report['matmul_flops'] / 1e9:,.1f} GFLOP/s, the fastest float32 "
        f"{report['matmul_size']}x{report['matmul_size']} matrix product timed in this run",
        f"the DataLoader alone (no training): {report['dataloader_images_per_s']:,.0f} img/s",
    ]
    return lines


def _speed_table(report):
    rows = report["rows"]
    precision = next((p for p in ("bf16", "fp16") if any(p in r["effects"] for r in rows)), "bf16")
    compiled = any("compile" in row["effects"] for row in rows)
    header = (
        f"{'model':<9} {'params':>8} {'MACs/img':>11} {'tutorial':>9} {'fast':>9} "
        f"{'pipeline':>8} {'layout':>7} {precision:>6} {'best':>6}"
        + (f" {'compile':>7}" if compiled else "")
        + f" {'GFLOP/s':>8} {'% peak':>6} {'peak MB':>8}"
    )
    lines = ["images per second (img/s), and the effect of each change (x):", header,
             "-" * len(header)]

    def factor(value):
        return f"{value:.2f}x" if value is not None else "-"

    failures = []
    for row in rows:
        e = row["effects"]
        lines.append(
            f"{row['model']:<9} {row['params']:>8,} {row['macs_per_image']:>11,} "
            f"{row['tutorial_pipeline_images_per_s']:>9,.0f} "
            f"{row['fast_path_images_per_s']:>9,.0f} "
            f"{factor(e['pipeline']):>8} {factor(e.get('channels_last')):>7} "
            f"{factor(e.get(precision)):>6} {factor(e['best']):>6}"
            + (f" {factor(e.get('compile')):>7}" if compiled else "")
            + f" {row['fast_path_flops'] / 1e9:>8.1f} {row['peak_fraction']:>6.0%} "
            f"{row['fast_path_peak_mb']:>8,.0f}"
        )
        failures += [f"{row['model']} {name}: {rate}"
                     for name, rate in row["fast_path_settings"].items() if isinstance(rate, str)]
    lines += [
        f"tutorial: the {TUTORIAL}: ToTensor + Normalize on every digit,",
        "  a DataLoader, loss.item() after every step.",
        f"fast: the {FAST_PATH}: the split normalised once and kept on the device",
        "  (TensorLoader), a loop that never waits for the device.",
        "Both in float32 and PyTorch's default layout (NCHW) unless a column says otherwise.",
        "pipeline: fast / tutorial. layout: the fast path in channels-last / fast (CNNs only).",
        f"{precision}: the fast path with autocast to {precision} / fast. best: the fastest setting"
        " of the",
        "  fast path / tutorial" + (". compile: torch.compile / the same setting without it."
                                    if compiled else "."),
        "GFLOP/s: fast, at 6 FLOPs per multiply-add; % peak: its share of the peak above.",
        {"vmhwm": "peak MB: peak resident memory of the process while the fast path trained",
         "ru_maxrss": "peak MB: the process's peak resident memory since it started",
         "cuda": "peak MB: GPU memory PyTorch allocated while the fast path trained"}[
            rows[0]["memory_method"] if rows else "vmhwm"]
        + (f" (it held {report['memory_before_mb']:,.0f} MB before any training)."
           if report.get("memory_before_mb") and rows[0]["memory_method"] != "cuda" else "."),
    ]
    if report["machine"]["device"].startswith("cuda"):
        lines.append("On CUDA, convolutions use TF32 by default while the float32 matrix "
                     "product does not, so a CNN can pass 100% of that peak.")
    return lines + [f"failed: {failure}" for failure in failures]


def _overhead_table(report):
    lines = ["mnistlab.fit against a bare loop, same TensorLoader and model, one epoch a round:",
             f"{'model':<16} {'batch':>5} {'fit img/s':>10} {'bare img/s':>11} {'fit / bare':>11}"]
    for r in report["fit_overhead"]:
        lines.append(f"{r['model']:<16} {r['batch_size']:>5} {r['fit_images_per_s']:>10,.0f} "
                     f"{r['bare_images_per_s']:>11,.0f} {r['fit_over_bare']:>10.1%}")
    lines.append("img/s: the fastest round; fit / bare: the median over rounds of the two rates "
                 "measured in the same round.")
    return lines


def _threads_table(report):
    threads = report["threads"]
    lines = [f"thread settings ({threads['model']}, fast path, each in a new process):"]
    for r in threads["results"]:
        setting = f"{r['threads']} thread{'s' if r['threads'] > 1 else ''}, "
        setting += f"OMP_WAIT_POLICY {r['omp_wait_policy']}"
        lines.append(f"  {setting:<38} {r['images_per_s']:>7,.0f} img/s")
    return lines


def _accuracy_table(report):
    settings = report["settings"]
    lines = [f"time to {settings['target']:.1%} test accuracy (median of "
             f"{settings['repeats']} runs, seeds 0-{settings['repeats'] - 1}, and their range):"]
    for name, text in report["recipes"].items():
        lines.append(f"  {name}: {text}")
    lines.append("  Both: the fast path, channels-last, the clock includes testing after "
                 "every epoch.")
    header = (f"{'data':<30} {'recipe':<22} {'train':>6} {'test':>6} {'reached':>7} "
              f"{'seconds':>8} {'range':>13} {'epochs':>6} {'best test acc':>15}")
    lines += [header, "-" * len(header)]
    for r in report["time_to_accuracy"]:
        margin = accuracy_margin(r["best_accuracy_median"], r["test_images"])
        spread = f"{r['seconds_min']:.1f}-{r['seconds_max']:.1f}"
        lines.append(
            f"{r['data']:<30} {r['recipe']:<22} {r['train_images']:>6,} {r['test_images']:>6,} "
            f"{r['reached']:>3} of {len(r['runs'])} {r['seconds_median']:>8.1f} {spread:>13} "
            f"{r['epochs_median']:>6g} {r['best_accuracy_median']:>7.2%} ± {100 * margin:.2f}"
        )
    lines.append("seconds: to the target, or to the end when a run did not reach it; best test "
                 "acc: the best epoch's, ± its 95% margin.")
    return lines


def format_report(report):
    """Return the whole report as text, each part separated by a blank line."""
    parts = [_header(report), _speed_table(report)]
    if report.get("fit_overhead"):
        parts.append(_overhead_table(report))
    if report.get("threads"):
        parts.append(_threads_table(report))
    parts.append(_accuracy_table(report))
    return "\n\n".join("\n".join(part) for part in parts)
