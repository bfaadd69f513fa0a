package rollout

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// verify watches the new instance (watch[0]) and the new ones this
// operation placed before it (the rest of watch) until the new one has
// spent the verification window in good conditions. Every poll it probes
// them and the old instances at the same moment, and judges the new ones
// against the old ones:
//
//   - an exit fails the window at once;
//   - failed readiness counts only while most old instances pass theirs:
//     FailureThreshold such probes in a row fail it;
//   - MaxErrors 5xx answers fail it once the instance's 5xx rate since the
//     window began is over 5% and over three times the old instances' (a
//     request that fails everywhere is not the release's fault);
//   - when the old instances fail as well (readiness, or 5xx at a
//     comparable rate), the machine or the database is in trouble: that
//     time does not count towards the window, and after TroubleTimeout of
//     it the deploy is aborted without blaming the release.
//
// On success it returns what the window saw, for the progress line.
func (e *Engine) verify(ctx context.Context, watch []Instance) (string, *Failure) {
	in := watch[0]
	peers := e.peers(watch)
	ids := append(append([]Instance{}, watch...), peers...)
	base := e.probeAll(ctx, ids) // the counters the window starts from
	began := e.now()
	tick := time.NewTicker(e.Opts.Poll)
	defer tick.Stop()
	var clean, troubled time.Duration
	failed := map[string]int{}
	inTrouble := false
	lastTick := began
	last := base
	for clean < e.Opts.Verify {
		select {
		case <-ctx.Done():
			return "", &Failure{Step: StepVerify, Instance: in, Cause: "the command was interrupted (" + context.Cause(ctx).Error() + ")"}
		case <-tick.C:
		}
		probes := e.probeAll(ctx, ids)
		last = probes
		// An instance whose counters could not be read when the window
		// began is judged from the first time they could.
		for i := range ids {
			if !base[i].Counted && probes[i].Counted {
				base[i] = probes[i]
			}
		}
		now := e.now()
		dt := now.Sub(lastTick)
		lastTick = now

		// The old instances at the same moment.
		peersDown, peerAnswered, peerFailed := 0, 0.0, 0.0
		for i := len(watch); i < len(ids); i++ {
			p, b := probes[i], base[i]
			if p.Health == NotReady {
				peersDown++
			}
			if p.Counted && b.Counted && p.Answered >= b.Answered {
				peerAnswered += p.Answered - b.Answered
				peerFailed += p.Failed - b.Failed
			}
		}
		trouble := len(peers) > 0 && 2*peersDown >= len(peers)
		peerRate := 0.0
		if peerAnswered > 0 {
			peerRate = peerFailed / peerAnswered
		}

		for i, w := range watch {
			p, b := probes[i], base[i]
			switch p.Health {
			case Exited:
				return "", &Failure{Step: StepVerify, Instance: w, Cause: fmt.Sprintf("it exited %.1fs after %s%s",
					now.Sub(began).Seconds(), whenAdded(w, in), detail(p))}
			case NotReady:
				if trouble {
					break // the old ones fail too: not evidence against it
				}
				failed[w.ID]++
				if failed[w.ID] >= e.Opts.FailureThreshold {
					return "", &Failure{Step: StepVerify, Instance: w, Cause: fmt.Sprintf("its readiness failed %d probes in a row %s, while %s%s",
						failed[w.ID], during(w, in), peersPassed(len(peers)-peersDown, len(peers)), detail(p))}
				}
			case Ready:
				failed[w.ID] = 0
			}
			if !p.Counted || !b.Counted || p.Answered < b.Answered {
				continue
			}
			answered, errs := p.Answered-b.Answered, p.Failed-b.Failed
			if errs < float64(e.Opts.MaxErrors) || answered == 0 {
				continue
			}
			rate := errs / answered
			switch {
			case rate > 0.05 && rate > 3*peerRate:
				return "", &Failure{Step: StepVerify, Instance: w, Cause: fmt.Sprintf("it answered %.0f of its %.0f requests with a 5xx status in the %.1fs since %s, while the old instances answered %.0f of %.0f",
					errs, answered, now.Sub(began).Seconds(), whenAdded(w, in), peerFailed, peerAnswered)}
			case rate > 0.05:
				trouble = true // the old instances fail about as often
			}
		}

		if !trouble {
			clean += dt
			if inTrouble {
				e.logf("the old instances are well again; verification of %s goes on (%.1fs of %s done)", in.ID, clean.Seconds(), e.Opts.Verify)
				inTrouble = false
			}
			continue
		}
		troubled += dt
		if !inTrouble {
			e.logf("the old instances fail too (%d of %d not ready, 5xx rate %.0f%%): the machine or the database is in trouble; verification of %s waits",
				peersDown, len(peers), 100*peerRate, in.ID)
			inTrouble = true
		}
		if troubled >= e.Opts.TroubleTimeout {
			return "", &Failure{Step: StepVerify, Instance: in, Outcome: Aborted, Cause: fmt.Sprintf(
				"the old instances failed at the same moments as the new one for %s (%d of %d not ready, 5xx rate %.0f%%): the machine or the database is in trouble, so the release was not judged; deploy again once it has recovered",
				troubled.Round(100*time.Millisecond), peersDown, len(peers), 100*peerRate)}
		}
	}
	return windowSummary(ids[:1], ids[len(watch):], base, last, len(watch)), nil
}

// windowSummary says how many requests the new instance and the old ones
// answered over the window, and how many with a 5xx.
func windowSummary(in, peers []Instance, base, last []Probe, watched int) string {
	if !base[0].Counted || !last[0].Counted {
		return "its request counters could not be read"
	}
	s := fmt.Sprintf("it answered %.0f requests, %.0f with a 5xx", last[0].Answered-base[0].Answered, last[0].Failed-base[0].Failed)
	var a, f float64
	for i := watched; i < len(base); i++ {
		if base[i].Counted && last[i].Counted && last[i].Answered >= base[i].Answered {
			a += last[i].Answered - base[i].Answered
			f += last[i].Failed - base[i].Failed
		}
	}
	if len(peers) > 0 {
		s += fmt.Sprintf("; the old instances %.0f, %.0f with a 5xx", a, f)
	}
	return s
}

// peers are the instances the new ones are judged against: those in the
// upstream that run another release, or, in a scale, the others serving.
func (e *Engine) peers(watch []Instance) []Instance {
	watched := map[string]bool{}
	for _, w := range watch {
		watched[w.ID] = true
	}
	var other, same []Instance
	for _, s := range e.State.Serving() {
		switch {
		case watched[s.ID]:
		case s.Version != watch[0].Version:
			other = append(other, s)
		default:
			same = append(same, s)
		}
	}
	if len(other) > 0 {
		return other
	}
	return same
}

// probeAll probes every instance at once, so they are compared at the same
// moment.
func (e *Engine) probeAll(ctx context.Context, ins []Instance) []Probe {
	out := make([]Probe, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = e.Driver.Probe(ctx, in)
		}()
	}
	wg.Wait()
	return out
}

func whenAdded(w, in Instance) string {
	if w.ID == in.ID {
		return "its verification began"
	}
	return in.ID + "'s verification began (" + w.ID + " had passed its own and was still watched)"
}

func during(w, in Instance) string {
	if w.ID == in.ID {
		return "during the verification window"
	}
	return "after its own verification, during " + in.ID + "'s"
}

func peersPassed(ok, n int) string {
	if n == 0 {
		return "no old instance was there to compare with"
	}
	return fmt.Sprintf("%d of the %d old instances passed theirs", ok, n)
}
