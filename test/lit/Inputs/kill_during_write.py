"""SIGKILLs onnx-prune while it writes a 64 MB model and checks that the
output folder holds exactly what it held before: with O_TMPFILE the
temporaries have no name until commit, so a killed run leaves nothing.

usage: kill_during_write.py ONNX_PRUNE WORKDIR
Prints "no leftovers after N kills" or fails. A run that finishes before it
is caught writing is retried (at most 20); none caught is a failure.
"""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

tool, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
src = os.path.join(work, "big.onnx")
w = numpy_helper.from_array(np.ones((4096, 4096), np.float32), "W")
g = helper.make_graph([helper.make_node("Add", ["X", "W"], ["Y"])], "g",
                      [helper.make_tensor_value_info("X", TensorProto.FLOAT, [4096, 4096])],
                      [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [4096, 4096])], [w])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), src)

out_dir = os.path.join(work, "out")
os.makedirs(out_dir, exist_ok=True)
out = os.path.join(out_dir, "model.onnx")
before = sorted(os.listdir(out_dir))


def writing(pid):
    """True once the tool holds an open file in out_dir (its temporary)."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(out_dir + "/"):
                    return True
            except OSError:
                pass
    except OSError:
        pass
    return False


kills = 0
for attempt in range(20):
    p = subprocess.Popen([tool, src, "--external-data=0", "-o", out])
    while p.poll() is None and not writing(p.pid):
        pass
    if p.poll() is None:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        kills += 1
        left = sorted(os.listdir(out_dir))
        if left != before:
            sys.exit(f"killed while writing, left behind: {sorted(set(left) - set(before))}")
        if kills == 3:
            break
    else:
        # Finished before we saw it write: clean up and try again.
        for f in os.listdir(out_dir):
            os.remove(os.path.join(out_dir, f))
if kills == 0:
    sys.exit("never caught onnx-prune while it was writing")
print(f"no leftovers after {kills} kills")
