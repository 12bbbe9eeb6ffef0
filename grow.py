"""
Layer-wise growth on the frozen input (Bochkov, "Growing Transformers", arXiv 2507.07129): a model is
trained in stages. Each stage puts new blocks on top of a trained model's and trains only those, the
output head and the final norm; the earlier blocks stay as they were, and so does the input embedding.
    python train.py config/cpu.py --n_layer=2 --out_dir=out/stage1
    python train.py config/cpu.py --init_from=grow --grow_from=out/stage1/ckpt.pt --n_layer=4 \
        --seed=1001337 --out_dir=out/stage2
Each stage has a seed of its own (stage_seed below): train.py draws every batch from (seed, iteration,
micro-step, rank) and a stage counts its iterations from 0, so under the first stage's seed it would
re-read that stage's batches. Growing under a seed an earlier stage used is refused.
A checkpoint records its stages, [{'source', 'layers', 'iters', 'tokens'}, ...], one per stage, the one
being trained last, a grown one also each stage's 'seed' and, from the second stage on, 'wte': whether
the input embedding trains in it. The layers add up to n_layer. Resuming re-freezes from that record.
With a trainable embedding, the embedding trains in the first stage and by default is frozen from the
second on (the paper's "constructive unfrozen" variant); train.py's --grow_embedding=trainable keeps it
training in every stage: the control that says what the frozen substrate does.
No LoRA on the old blocks (v1 of the paper used it; v2/v3 do not).
"""
import torch

from model import GPT, GPTConfig, model_from_checkpoint, read_checkpoint

def check_stages(stages, n_layer, where):
    """the stage record of a checkpoint with n_layer blocks, or a ValueError naming what is wrong"""
    if not stages:
        raise ValueError(f"{where} records no stages (written before train.py kept them, or edited): "
                         "grow from and resume only checkpoints written by this train.py")
    layers = [s.get('layers') for s in stages]
    if any(not isinstance(k, int) or k < 1 for k in layers) or sum(layers) != n_layer:
        raise ValueError(f"{where} records stages of {layers} layers but holds {n_layer}: the record "
                         "contradicts the model; train it again rather than grow from or resume it")

def stage_seed(seed, stage):
    """the seed of stage `stage` (1: the first, trained from scratch) of a model whose first stage had seed.
    A stage's batches come from its seed and its own iterations, 0 on: a seed of its own makes them new
    windows, drawn by the same rule as the first stage's. A seed rather than iterations that continue the
    previous stage's count: train.py keeps one batch rule with no stage in it, a stage still starts its
    schedule at 0, and experiments/rarity.py's replay of a checkpoint (its config's seed, iterations from 0)
    stays exact for a grown one. A million apart, so that an experiment's paired seeds (1337, 1338, ...)
    never meet another pair's stage"""
    return seed + 1_000_000 * (stage - 1)

def freeze(model, stages):
    """train only the last stage's blocks, the head and the final norm: every earlier stage's blocks, and
    from the second stage on the input embedding unless the stage records wte='trainable', stop taking
    gradients and stay out of the optimizer"""
    old = sum(s['layers'] for s in stages[:-1])
    for block in model.transformer.h[:old]:
        block.requires_grad_(False)
    if len(stages) > 1 and stages[-1].get('wte', 'frozen') == 'frozen': # records older than 'wte': frozen
        model.transformer.wte.requires_grad_(False) # a no-op for the frozen embeddings, which are buffers
    return old

def is_old(key, n_layer):
    """whether a state_dict key belongs to a model of n_layer blocks: anything but a deeper block"""
    return not key.startswith('transformer.h.') or int(key.split('.')[2]) < n_layer

def grow_model(path, model_args, tok_hash, seed, grow_embedding='frozen'):
    """a model of model_args['n_layer'] blocks: the checkpoint's blocks, head, final norm and embedding,
    and new blocks on top initialised exactly as a fresh model of the full depth would have them under this
    seed. grow_embedding: 'frozen' (a trainable embedding stops training here) or 'trainable' (it trains on
    with the new blocks). -> (model with the old parts frozen, args, stages with the new one appended)"""
    absent = f"grow_from={path} does not exist: train the previous stage first (see grow.py)"
    src = read_checkpoint(path, absent)
    a = src['model_args']
    check_stages(src.get('stages'), a['n_layer'], path)
    if src['tokenizer_hash'] != tok_hash:
        raise ValueError(f"{path} was trained on another tokenizer ({a['vocab_size']} ids) than this "
                         "dataset's: grow on the dataset's tokenizer it was trained on")
    for key in ('n_embd', 'n_head', 'vocab_size', 'embedding', 'bias'):
        if a[key] != model_args[key]:
            raise ValueError(f"{key}={model_args[key]} differs from {path}'s {a[key]}: "
                             f"a grown model keeps its source's {key}, set --{key}={a[key]}")
    if model_args['n_layer'] <= a['n_layer']:
        raise ValueError(f"n_layer={model_args['n_layer']} does not grow {path}, "
                         f"which has {a['n_layer']} layers: set --n_layer above {a['n_layer']}")
    if grow_embedding not in ('frozen', 'trainable'):
        raise ValueError(f"grow_embedding={grow_embedding!r}: use 'frozen' or 'trainable'")
    if grow_embedding == 'trainable' and a['embedding'] != 'trainable':
        raise ValueError(f"grow_embedding='trainable' trains the input embedding on, but {path}'s is "
                         f"{a['embedding']!r}, frozen by construction: leave grow_embedding='frozen'")
    # the source's last stage ran under the seed its config records (its earlier ones are in its record)
    old_stages = [*src['stages'][:-1], {'seed': src['config']['seed'], **src['stages'][-1]}]
    used = [s.get('seed') for s in old_stages] # None: a stage recorded before seeds were
    if seed in used:
        first = next(k for k in used if k is not None)
        raise ValueError(f"seed={seed} is that of stage {used.index(seed) + 1} of {path}: this stage would "
                         "re-read its batches (drawn from the seed and the iteration, which restarts at 0), "
                         f"set --seed={stage_seed(first, len(used) + 1)} (grow.stage_seed)")
    args = dict(model_args, embedding_seed=a['embedding_seed'], wte_init=a['wte_init'])
    wte = src['model']['transformer.wte.weight'] if a['embedding'] == 'glyph' else None
    torch.manual_seed(seed) # as train.py seeds a fresh model: the new blocks get the fresh model's numbers
    model = GPT(GPTConfig(**args), wte=wte)
    old = {k: v for k, v in src['model'].items() if is_old(k, a['n_layer'])}
    missing, unexpected = model.load_state_dict(old, strict=False)
    assert not unexpected and all(k.startswith('transformer.h.') for k in missing), (missing, unexpected)
    new_stage = dict(source=path, layers=model_args['n_layer'] - a['n_layer'], iters=0, tokens=0, seed=seed,
                     wte=grow_embedding if a['embedding'] == 'trainable' else 'frozen')
    stages = [*old_stages, new_stage]
    freeze(model, stages)
    return model, args, stages

def resume_model(checkpoint, n_layer, where):
    """the model of a checkpoint (a model.read_checkpoint dict, from where) that a run resumes with n_layer
    blocks: its earlier stages' blocks frozen again, as before the stop. A ValueError naming the fix when
    n_layer or the stage record does not fit"""
    model = model_from_checkpoint(checkpoint)
    n = checkpoint['model_args']['n_layer']
    if n_layer != n:
        raise ValueError(f"n_layer={n_layer} differs from {where}'s {n}: resume with --n_layer={n}")
    check_stages(checkpoint.get('stages'), n_layer, where)
    freeze(model, checkpoint['stages']) # a growth stage trains its own blocks only
    return model

def describe(model):
    """the parameter count that a stage trains, against the model's (the input embedding counted apart)"""
    total = sum(p.numel() for p in model.parameters())
    active = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return (f"active (trained) parameters: {active / 1e6:.2f}M of {total / 1e6:.2f}M "
            "(a frozen input embedding is a buffer, not counted)")
