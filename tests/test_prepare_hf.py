"""prepare.py --hf with the real datasets library: a local parquet dataset that the test writes, streamed
through datasets.load_dataset as a hub dataset would be, end to end to shards that decode to its texts."""
import json

import numpy as np
import pytest

from conftest import run
from prepare import read_shard
from tokenizer import load_tokenizer

TEXTS = [f"Record {i}: the quick brown fox. Быстрая лиса {i}. 敏捷的狐狸 {i}。 😀" for i in range(40)]

def test_hf_local_parquet_end_to_end(tmp_path):
    pytest.importorskip('datasets', reason="prepare.py --hf needs `pip install datasets`")
    pq = pytest.importorskip('pyarrow.parquet', reason="the test's parquet needs `pip install pyarrow`")
    import pyarrow as pa
    src = tmp_path / 'local_dataset'
    src.mkdir()
    for k in range(2): # two files: the stream must read both, in order
        rows = TEXTS[k * 20:(k + 1) * 20]
        pq.write_table(pa.table({'text': rows, 'id': list(range(len(rows)))}), src / f'part-{k}.parquet')
    env = dict(HF_HOME=str(tmp_path / 'hf'), HF_DATASETS_OFFLINE='1', HF_HUB_OFFLINE='1') # no network
    run(['--name', 'loc', '--hf', str(src), '--tokenizer', 'unicode', '--val_permille', '300',
         '--data_dir', str(tmp_path / 'data')], tmp_path, script='prepare.py', env=env)
    out = tmp_path / 'data' / 'loc'
    meta = json.load(open(out / 'meta.json'))
    tok = load_tokenizer('unicode')
    got = []
    for split in ('train', 'val'):
        assert meta['shards'][split], f"no {split} shard" # 300 permille: both splits hold documents
        shards = [read_shard(str(out / f), meta['tokenizer_hash']) for f in meta['shards'][split]]
        tokens = np.concatenate(shards)
        ends = np.flatnonzero(tokens == tok.eot) # every document ends with eot
        starts = np.concatenate([[0], ends[:-1] + 1])
        got += [tokens[s:e].tolist() for s, e in zip(starts, ends)]
    assert sorted(got) == sorted(tok.encode(t) for t in TEXTS) # every record once, its exact tokens
    assert meta['provenance']['inputs'] == [f"hf:{src}:None:train"]
