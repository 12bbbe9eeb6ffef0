"""
Two small things several scripts need, stated once.
"""
import os
import subprocess

def atomic_write(path, write, mode='wb'):
    """write(f) into a temporary file beside path, then rename it over path. A reader (another
    process, or the next run after a crash) sees the old file or the whole new one, never half of one.
    The temporary name holds the process id: processes writing the same path each rename their own."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f'{path}.{os.getpid()}.tmp'
    try:
        with open(tmp, mode, **({} if 'b' in mode else {'encoding': 'utf-8'})) as f:
            write(f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)

def git_commit():
    """the commit of this checkout, recorded in datasets and checkpoints; None outside git"""
    try:
        r = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=os.path.dirname(os.path.abspath(__file__)),
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip() if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None
