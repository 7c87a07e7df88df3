// Package dataparallel trains one multi-task network over several devices of one XLA backend, data
// parallel, with GoMLX's distributed support: the batch is split along its first axis over a
// one-dimensional device mesh, every device runs the training step of its shard (for PGD adversarial
// training, it crafts its shard's adversarial examples and computes its gradients), and XLA's SPMD
// partitioner all-reduces the gradients so that one shared weight update follows.
//
// Nothing here moves data between processes by hand. The step is compiled once as one logical program
// with GoMLX's AutoSharding strategy (graph.Exec.AutoSharding, which hands the program to XLA's Shardy
// partitioner): the inputs carry a sharding on the batch axis of the mesh, the weights and the optimizer
// state are replicated, and the partitioner inserts the collectives itself (an all-reduce of the
// partial weight gradients; the loss is a mean over the global batch, so the reduced gradient is the
// average over the devices' shards, exactly the single-device gradient of the whole batch up to float
// rounding). XLA's dump (XLA_FLAGS=--xla_dump_to=DIR) of the step of the three-head small CNN shows it:
// each device's optimised program takes [B/2, ...] inputs and holds one all-reduce, of the 12 weight
// and bias gradients and the 3 task losses.
//
// Why AutoSharding and not GoMLX's SPMD strategy: with SPMD the program sees one shard and every
// collective is the caller's, but train.Trainer's SPMD step reduces no gradient (each device would step
// on its own shard), and in GoMLX v0.28.16 with go-xla v0.4.13 it does not compile: the trainer gives
// the inputs sharding specs on a mesh that go-xla's SPMD builder never registers (compute/xla
// Builder.meshByName: `mesh "mesh" not found`). Collectives themselves do work on the CPU plugin under
// SPMD (graph.Graph.Distributed().AllReduce on an Exec.SPMD program).
//
// XLA backends only: GoMLX's pure-Go backend does not implement distributed execution. On one machine
// without accelerators, OpenCPU splits the host into several XLA CPU devices (the PJRT create option
// cpu_device_count, as XLA_FLAGS=--xla_force_host_platform_device_count does for JAX).
//
// Example (gray-box PGD-AT, 001 Eq. 6-7, over two devices):
//
//	backend, _, err := dataparallel.OpenCPU(2)
//	step := training.AdversarialStep("pgd-at", net, attack.PGD{Eps: 0.1, Steps: 7}, attack.GrayBox(net), nil)
//	tr, err := dataparallel.NewTrainer(backend, model.NewStore(), training.Config{Seed: 1}, step, 2)
//	loss, err := tr.TrainStep(batch) // batch as training.Train builds it; its size a multiple of 2
package dataparallel

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/distributed"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/core/tensors/dtensor"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/mtlrob/mtlrob/mtlrob/training"
)

// Axis is the name of the mesh axis the batch is split along.
const Axis = "batch"

// xlaBackendName is the name XLA backends report (go-xla's compute/xla BackendName).
const xlaBackendName = "xla"

// Mesh returns the one-dimensional device mesh of the first devices of backend, with its axis named
// Axis. It is an error when backend is not an XLA backend (the pure-Go backend has no distributed
// execution) or has fewer than devices devices.
func Mesh(backend compute.Backend, devices int) (*distributed.DeviceMesh, error) {
	if backend == nil {
		return nil, fmt.Errorf("dataparallel: no backend")
	}
	if devices < 1 {
		return nil, fmt.Errorf("dataparallel: %d devices: want at least 1", devices)
	}
	if backend.Name() != xlaBackendName {
		return nil, fmt.Errorf("dataparallel: backend %q (%s) has no distributed execution: data-parallel training needs an XLA backend (MTLROB_BACKEND=xla:cpu or xla:cuda; OpenCPU splits the host into devices)",
			backend.Name(), backend.Description())
	}
	if n := backend.NumDevices(); n < devices {
		return nil, fmt.Errorf("dataparallel: backend %s has %d device(s), %d asked (on the XLA CPU plugin, OpenCPU(%d) splits the host into %d devices)",
			backend.Description(), n, devices, devices, devices)
	}
	mesh, err := distributed.NewDeviceMesh([]int{devices}, []string{Axis})
	if err != nil {
		return nil, fmt.Errorf("dataparallel: mesh of %d devices: %w", devices, err)
	}
	return mesh, nil
}

// Trainer runs training steps of one training.Step data parallel over Devices devices. With one
// device it is GoMLX's ordinary single-device trainer, the reference the distributed run must match.
type Trainer struct {
	trainer *train.Trainer
	mesh    *distributed.DeviceMesh // nil with one device
	batch   *distributed.ShardingSpec
	devices []compute.DeviceNum
	// strategy is distributed.AutoSharding; tests set distributed.SPMD to get a deliberately wrong
	// step (the stock trainer under SPMD reduces no gradient: each device steps on its own shard).
	strategy distributed.Strategy
}

// NewTrainer returns a trainer of step with cfg's optimizer (training.NewTrainer) whose steps run over
// the first devices devices of backend (see Mesh for the errors). The weights live in store,
// replicated on every device; a fresh store is initialised from cfg.Seed, so a one-device and a
// several-device trainer with the same seed start from the same weights. A store made by
// model.Store.Clone cannot run distributed in GoMLX v0.28.16 (Variable.CloneToStore leaves the copies
// without their store and building the graph dereferences nil): copy variables with
// model.Store.CreateVariable instead.
func NewTrainer(backend compute.Backend, store *model.Store, cfg training.Config, step training.Step, devices int) (*Trainer, error) {
	mesh, err := Mesh(backend, devices)
	if err != nil {
		return nil, err
	}
	tr, err := training.NewTrainer(backend, store, cfg, step)
	if err != nil {
		return nil, err
	}
	t := &Trainer{trainer: tr, strategy: distributed.AutoSharding}
	if devices == 1 {
		return t, nil
	}
	t.mesh = mesh
	if t.batch, err = distributed.BuildSpec(mesh).S(Axis).Done(); err != nil {
		return nil, fmt.Errorf("dataparallel: batch sharding: %w", err)
	}
	for i := range devices {
		t.devices = append(t.devices, compute.DeviceNum(i))
	}
	return t, nil
}

// Devices is the number of devices a step runs on.
func (t *Trainer) Devices() int { return max(1, len(t.devices)) }

// Mesh is the device mesh of the steps; nil with one device.
func (t *Trainer) Mesh() *distributed.DeviceMesh { return t.mesh }

// Trainer is the underlying GoMLX trainer (its metrics, global step and store).
func (t *Trainer) Trainer() *train.Trainer { return t.trainer }

// TrainStep runs one optimizer step on batch, whose tensors (inputs and labels, each [batch, ...]) are
// split along their first axis, the batch size a multiple of Devices. It consumes the batch's tensors
// (build fresh ones per step) and returns the batch loss (the first training metric).
func (t *Trainer) TrainStep(batch train.Batch) (float64, error) {
	var metrics []*tensors.Tensor
	var err error
	if t.mesh == nil {
		metrics, err = t.trainer.TrainStep(batch)
	} else {
		var db train.DistributedBatch
		if db, err = t.shard(batch); err != nil {
			return 0, err
		}
		metrics, err = t.trainer.DistributedTrainStep(t.strategy, t.devices, db)
	}
	if err != nil {
		return 0, fmt.Errorf("dataparallel: training step on %d device(s): %w", t.Devices(), err)
	}
	defer func() {
		for _, m := range metrics {
			m.FinalizeAll()
		}
	}()
	if len(metrics) == 0 {
		return 0, fmt.Errorf("dataparallel: training step returned no metrics")
	}
	return scalar(metrics[0])
}

// shard splits every tensor of b along its first axis over the mesh, and finalizes b's tensors.
func (t *Trainer) shard(b train.Batch) (train.DistributedBatch, error) {
	defer b.Finalize()
	n := len(t.devices)
	db := train.DistributedBatch{Spec: b.Spec}
	split := func(ts []*tensors.Tensor) ([]*dtensor.Tensor, error) {
		out := make([]*dtensor.Tensor, len(ts))
		for i, x := range ts {
			if x.Rank() < 1 || x.Shape().Dimensions[0]%n != 0 {
				return nil, fmt.Errorf("dataparallel: tensor of shape %s: its first (batch) axis must be a multiple of %d devices", x.Shape(), n)
			}
			d, err := dtensor.ShardTensor(t.batch, x)
			if err != nil {
				return nil, fmt.Errorf("dataparallel: sharding a tensor of shape %s over %d devices: %w", x.Shape(), n, err)
			}
			out[i] = d
		}
		return out, nil
	}
	var err error
	if db.Inputs, err = split(b.Inputs); err != nil {
		_ = db.Finalize()
		return db, err
	}
	if db.Labels, err = split(b.Labels); err != nil {
		_ = db.Finalize()
		return db, err
	}
	return db, nil
}

func scalar(m *tensors.Tensor) (float64, error) {
	switch v := m.Value().(type) {
	case float32:
		return float64(v), nil
	case float64:
		return v, nil
	}
	return 0, fmt.Errorf("dataparallel: loss metric of shape %s, want a float scalar", m.Shape())
}
