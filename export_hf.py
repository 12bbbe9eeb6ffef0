"""
Export one glyphgpt checkpoint to a Hugging Face transformers folder that loads with no custom code:

    python export_hf.py out/ckpt.pt /tmp/glyphgpt-hf
    python -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('/tmp/glyphgpt-hf')"

glyphgpt's GPT is GPT-NeoX with sequential residuals (use_parallel_residual=False), rotary on every
channel (partial_rotary_factor 1.0), exact GELU, an untied head, LayerNorm eps 1e-5. What differs is
layout only, undone here: rotary pairs (2i, 2i+1) in model.py against NeoX's halves (i, i + hs/2), and
c_attn's [q | k | v] against NeoX's per-head [q, k, v]. The input embedding, frozen or not, becomes
embed_in. The folder: config.json (provenance under 'glyphgpt'), model.safetensors (float32),
README.md (a model card), and tokenizer.json where the checkpoint's tokenizer is a Hugging Face one.
"""
import argparse
import json
import os
import sys

import torch

from model import load_checkpoint, read_checkpoint

NOT_HF = ("glyphgpt's own tokenizers and tiktoken's are not written as a Hugging Face tokenizer.json: "
          "they merge by the rank of the result (tiktoken's BPE) over pattern-split UTF-8 bytes, with "
          "byte prefixes spelled back as byte tokens, which Hugging Face's pair-ranked BPE does not "
          "reproduce exactly; encode with tokenizer.load_tokenizer('OUT_DIR/glyphgpt_tokenizer.json')")

# -----------------------------------------------------------------------------
# weights

def halves_order(hs):
    """the channel order that turns model.py's interleaved rotary pairs into NeoX's halves: q . k sums
    over channels, so permuting q's and k's rows alike leaves every logit unchanged"""
    return torch.cat((torch.arange(0, hs, 2), torch.arange(1, hs, 2)))

def neox_qkv(w, n_head, order):
    """c_attn's rows [q | k | v] (3C, ...) -> NeoX's per-head [q_h, k_h, v_h] (3C, ...), q and k rows
    in the halves order. w: a weight (3C, C) or a bias (3C,)"""
    C = w.shape[0] // 3
    hs = C // n_head
    q, k, v = (t.reshape(n_head, hs, *w.shape[1:]) for t in w.split(C)) # (nh, hs, ...) each
    q, k = q[:, order], k[:, order]
    return torch.stack((q, k, v), dim=1).reshape(w.shape) # (nh, 3, hs, ...) -> (3C, ...)

def neox_state_dict(model):
    """glyphgpt's GPT -> the state_dict of transformers' GPTNeoXForCausalLM, float32. Absent biases
    (bias=False) become zeros where NeoX always has one (its MLP and LayerNorms)"""
    cfg = model.config
    order = halves_order(cfg.n_embd // cfg.n_head)
    V, C = cfg.vocab_size, cfg.n_embd
    def bias(module, n):
        return module.bias if module.bias is not None else torch.zeros(n)
    with torch.no_grad():
        # every embedding mode as a table: 'affine' computes its rows on the fly, so ask it for all ids
        sd = {'gpt_neox.embed_in.weight': model.transformer.wte(torch.arange(V))}
        for i, b in enumerate(model.transformer.h):
            p = f'gpt_neox.layers.{i}.'
            sd[p + 'input_layernorm.weight'] = b.ln_1.weight
            sd[p + 'input_layernorm.bias'] = bias(b.ln_1, C)
            sd[p + 'post_attention_layernorm.weight'] = b.ln_2.weight
            sd[p + 'post_attention_layernorm.bias'] = bias(b.ln_2, C)
            sd[p + 'attention.query_key_value.weight'] = neox_qkv(b.attn.c_attn.weight, cfg.n_head, order)
            sd[p + 'attention.dense.weight'] = b.attn.c_proj.weight
            if cfg.bias: # attention_bias=False otherwise: NeoX's attention then has none
                sd[p + 'attention.query_key_value.bias'] = neox_qkv(b.attn.c_attn.bias, cfg.n_head, order)
                sd[p + 'attention.dense.bias'] = b.attn.c_proj.bias
            sd[p + 'mlp.dense_h_to_4h.weight'] = b.mlp.c_fc.weight
            sd[p + 'mlp.dense_h_to_4h.bias'] = bias(b.mlp.c_fc, 4 * C)
            sd[p + 'mlp.dense_4h_to_h.weight'] = b.mlp.c_proj.weight
            sd[p + 'mlp.dense_4h_to_h.bias'] = bias(b.mlp.c_proj, C)
        sd['gpt_neox.final_layer_norm.weight'] = model.transformer.ln_f.weight
        sd['gpt_neox.final_layer_norm.bias'] = bias(model.transformer.ln_f, C)
        sd['embed_out.weight'] = model.lm_head.weight
    return {k: v.detach().float().contiguous().clone() for k, v in sd.items()}

# -----------------------------------------------------------------------------
# config, tokenizer, model card

def neox_config(model, tok, provenance):
    """config.json's contents: GPTNeoXConfig keys, and glyphgpt's record under 'glyphgpt'"""
    cfg = model.config
    return dict(architectures=['GPTNeoXForCausalLM'], model_type='gpt_neox', vocab_size=cfg.vocab_size,
                hidden_size=cfg.n_embd, num_hidden_layers=cfg.n_layer, num_attention_heads=cfg.n_head,
                intermediate_size=4 * cfg.n_embd, hidden_act='gelu', # nn.GELU(): exact, not tanh
                max_position_embeddings=cfg.block_size, layer_norm_eps=1e-5, use_parallel_residual=False,
                rope_parameters={'rope_type': 'default', 'rope_theta': cfg.rope_base,
                                 'partial_rotary_factor': 1.0},
                attention_bias=cfg.bias, tie_word_embeddings=False, bos_token_id=tok.eot,
                eos_token_id=tok.eot, dtype='float32', glyphgpt=provenance)

def provenance_of(checkpoint, tok):
    """what the checkpoint records about how it was made (read_checkpoint's layout)"""
    prov = checkpoint.get('provenance') or {}
    return dict(model_args=checkpoint['model_args'], config=checkpoint.get('config'),
                stages=checkpoint.get('stages'), iter_num=checkpoint.get('iter_num'),
                glyph_key=prov.get('glyph_key'), git_commit=prov.get('git_commit'),
                fonts=prov.get('fonts'), torch=prov.get('torch'),
                tokenizer={'name': tok.name, 'kind': type(tok).__name__, 'hash': checkpoint['tokenizer_hash'],
                           'hf_tokenizer_json': tok.spec.get('format') == 'huggingface-tokenizer'
                           if isinstance(tok.spec, dict) else False})

def last_val_bpb(ckpt_path):
    """the last val bpb in the log.jsonl beside the checkpoint (train.py writes it there), or None"""
    log = os.path.join(os.path.dirname(os.path.abspath(ckpt_path)), 'log.jsonl')
    if not os.path.exists(log):
        return None
    rows = [json.loads(line) for line in open(log) if 'val_bpb' in line]
    return (rows[-1]['iter'], rows[-1]['val_bpb']) if rows else None

def model_card(prov, bpb, tokenizer_note):
    c = prov['config'] or {}
    a = prov['model_args']
    lines = ['---', 'library_name: transformers', 'tags: [glyphgpt, gpt_neox, frozen-embedding]', '---',
             '# glyphgpt checkpoint (GPT-NeoX layout)', '',
             f"A {a['n_layer']}-layer x {a['n_embd']} GPT trained by glyphgpt's train.py with the "
             f"'{a['embedding']}' input embedding, exported by export_hf.py. Loads with "
             "`AutoModelForCausalLM.from_pretrained(path)`, no custom code.", '',
             '| key | value |', '| --- | --- |']
    rows = {'dataset': c.get('dataset'), 'glyph recipe': c.get('glyph_recipe'),
            'glyph key': prov['glyph_key'], 'tokenizer': f"{prov['tokenizer']['name']} "
            f"(sha256 {prov['tokenizer']['hash'][:16]})", 'iterations': prov['iter_num'],
            'tokens per iter': c.get('batch_size', 0) * c.get('gradient_accumulation_steps', 0)
            * a['block_size'], 'learning rate': c.get('learning_rate'), 'seed': c.get('seed'),
            'val bits per byte': 'not recorded' if bpb is None else f"{bpb[1]:.4f} (step {bpb[0]})",
            'git commit': prov['git_commit']}
    lines += [f'| {k} | {v} |' for k, v in rows.items()]
    lines += ['', '## Tokenizer', '', tokenizer_note, '',
              'Full config: `glyphgpt` in config.json.', '']
    return '\n'.join(lines)

# -----------------------------------------------------------------------------

def export(ckpt, out_dir):
    """write the folder; returns the tokenizer note (what was or was not written)"""
    from safetensors.torch import save_file # here: an optional dependency
    checkpoint = read_checkpoint(ckpt)
    model, tok = load_checkpoint(ckpt) # checks the tokenizer rebuilds with its recorded hash
    os.makedirs(out_dir, exist_ok=True)
    prov = provenance_of(checkpoint, tok)
    save_file(neox_state_dict(model), os.path.join(out_dir, 'model.safetensors'), metadata={'format': 'pt'})
    with open(os.path.join(out_dir, 'config.json'), 'w') as f:
        json.dump(neox_config(model, tok, prov), f, indent=2)
    # glyphgpt's own spec always goes along: tokenizer.load_tokenizer reads it and gives the trained ids
    with open(os.path.join(out_dir, 'glyphgpt_tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(tok.spec, f, ensure_ascii=False)
    if prov['tokenizer']['hf_tokenizer_json']:
        write_hf_tokenizer(tok, out_dir)
        note = ("tokenizer.json is the checkpoint's own Hugging Face tokenizer: AutoTokenizer gives "
                "glyphgpt's ids (a lone surrogate, which the library refuses, is the one exception).")
    else:
        note = NOT_HF
        print(f"warning: {NOT_HF}", file=sys.stderr)
    with open(os.path.join(out_dir, 'README.md'), 'w') as f:
        f.write(model_card(prov, last_val_bpb(ckpt), note))
    return note

def write_hf_tokenizer(tok, out_dir):
    """the paper's kind of tokenizer.json, as it is, and the files AutoTokenizer looks for beside it"""
    with open(os.path.join(out_dir, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(tok.spec['tokenizer'], f, ensure_ascii=False)
    unk = '<unk>' if '<unk>' in tok.specials else None
    with open(os.path.join(out_dir, 'tokenizer_config.json'), 'w') as f:
        json.dump({'tokenizer_class': 'PreTrainedTokenizerFast', 'eos_token': '</s>', 'unk_token': unk,
                   'model_max_length': 1 << 30}, f, indent=2)

def main(argv=None):
    p = argparse.ArgumentParser(description="export a glyphgpt checkpoint to Hugging Face transformers")
    p.add_argument('ckpt', nargs='+', help="one ckpt.pt written by train.py")
    p.add_argument('out_dir')
    args = p.parse_args(argv)
    if len(args.ckpt) > 1:
        sys.exit("error: a fused model (several checkpoints) is no single transformers architecture: "
                 "export each checkpoint on its own")
    try:
        note = export(args.ckpt[0], args.out_dir)
    except ImportError:
        sys.exit("error: export needs safetensors: pip install safetensors")
    except (ValueError, FileNotFoundError, KeyError) as e:
        sys.exit(f"error: {e}")
    print(f"wrote {args.out_dir}: config.json, model.safetensors, README.md. {note}")

if __name__ == '__main__':
    main()
