"""train.py under torchrun with 2 processes on gloo (DDP on CPU is a correctness path, not a fast one)."""
import os
import subprocess
import sys

import torch

from conftest import ROOT, TINY, last_log_entry, losses

def torchrun(args, cwd, check=True):
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                        os.path.join(ROOT, 'train.py'), *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    if check:
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r

def test_two_ranks_agree_and_resume_exactly(work):
    args = ['--dataset=tiny', '--eval_interval=3', '--gradient_accumulation_steps=2', *TINY]
    full = torchrun([*args, '--out_dir=ddp_full', '--max_iters=6'], work)
    # the frozen buffer is rank 0's on both ranks, and the weights stay identical through the steps
    assert 'all 2 processes agree on the tokenizer and the input embedding' in full.stdout
    assert 'all 2 processes hold identical weights at iter 6' in full.stdout
    torchrun([*args, '--out_dir=ddp_cut', '--max_iters=3'], work)
    resumed = torchrun([*args, '--out_dir=ddp_cut', '--max_iters=6', '--init_from=resume'], work)
    a, b = losses(full.stdout), losses(resumed.stdout)
    assert sorted(b) == [3, 4, 5] and all(a[k] == b[k] for k in b), (a, b)
    sa = torch.load(work / 'ddp_full' / 'ckpt.pt', weights_only=True)
    sb = torch.load(work / 'ddp_cut' / 'ckpt.pt', weights_only=True)
    assert all(torch.equal(sa['model'][k], sb['model'][k]) for k in sa['model'])
    # eval is all-reduced over both ranks
    assert last_log_entry(work / 'ddp_full')['val_loss'] == last_log_entry(work / 'ddp_cut')['val_loss']

def test_ranks_with_different_tokenizers_stop_with_one_clear_error(work):
    # rank 1 reads another dataset (another tokenizer): a config file is plain Python
    (work / 'split.py').write_text("dataset = 'tiny' if __import__('os').environ['RANK'] == '0' else 'other'\n")
    r = torchrun(['split.py', '--out_dir=ddp_split', '--max_iters=2', '--gradient_accumulation_steps=2', *TINY], work, check=False)
    assert r.returncode != 0 and 'processes were given different tokenizers' in r.stderr
