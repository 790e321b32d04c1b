#!/usr/bin/env bash
# Runs one sharded batch on a cluster: the Indexed Job of batch-predict.yaml, then, once every shard has completed,
# the merge of batch-merge.yaml. The pictures are in the veracity-batch volume's images/ folder; the submission
# lands in its submit.csv. Kubernetes has no "after this Job" of its own, hence the wait in between.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
timeout="${TIMEOUT:-24h}"
kubectl delete job veracity-predict veracity-merge --ignore-not-found
kubectl apply -f "$here/batch-predict.yaml"
kubectl wait --for=condition=complete --timeout="$timeout" job/veracity-predict
kubectl apply -f "$here/batch-merge.yaml"
kubectl wait --for=condition=complete --timeout=1h job/veracity-merge
kubectl logs job/veracity-merge
