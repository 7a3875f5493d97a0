package legacygen

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/cutover/cutover/mappings"
)

func (g *gen) referenceTables() []*table {
	return []*table{
		{name: "reference_tracks", cols: []string{"id", "user_id", "name", "description", "r2_key", "file_size_bytes",
			"mime_type", "duration_seconds", "artist", "album", "genre", "bpm", "key_signature", "tags", "status",
			"error_message", "created_at", "updated_at"}, fill: g.fillTracks},
		{name: "track_analyses", cols: []string{"id", "track_id", "analysis_type", "version", "status", "started_at",
			"completed_at", "error_message", "summary", "manifest", "created_at", "updated_at"}, fill: g.fillAnalyses},
		{name: "analysis_frame_manifests", cols: []string{"id", "analysis_id", "manifest_version", "hop_ms", "frame_count",
			"duration_ms", "sample_rate", "bands", "bytes_per_frame", "frame_layout", "events", "fingerprint",
			"analyzer_version", "chunk_size_frames", "total_chunks", "created_at"}, fill: g.fillManifests},
		g.tAnalysisFrameData(),
		{name: "analysis_frame_chunks", cols: []string{"id", "analysis_id", "chunk_index", "start_time_ms", "end_time_ms",
			"frames", "created_at"}, fill: g.fillFrameChunks},
		{name: "analysis_events", cols: []string{"id", "analysis_id", "time_ms", "duration_ms", "event_type", "event_data",
			"confidence", "created_at"}, fill: g.fillAnalysisEvents},
		{name: "track_annotations", cols: []string{"id", "track_id", "user_id", "start_time_ms", "end_time_ms", "title",
			"content", "category", "color", "is_private", "created_at", "updated_at"}, fill: g.fillAnnotations},
		{name: "track_regions", cols: []string{"id", "track_id", "user_id", "start_time_ms", "end_time_ms", "name",
			"description", "section_type", "color", "display_order", "created_at", "updated_at"}, fill: g.fillRegions},
		{name: "listening_prompt_templates", cols: []string{"id", "name", "description", "category", "difficulty",
			"prompt_text", "hints", "expected_observations", "tags", "display_order", "is_active", "created_by",
			"created_at", "updated_at"}, fill: g.fillPromptTemplates},
		{name: "listening_prompt_presets", cols: []string{"id", "name", "description", "template_id", "preset_type",
			"config", "is_active", "created_by", "created_at", "updated_at"}, fill: g.fillPromptPresets},
	}
}

type trackP struct {
	id       uid
	created  time.Time
	durMS    int
	analyses []analysisP
}

type analysisP struct {
	id       uid
	typ      string
	status   string
	created  time.Time
	manifest *manifestP
}

type manifestP struct {
	id          uid
	hopMS       int
	bpf         int // bytes per frame
	chunkFrames int
	frames      int
	chunks      int
}

// tracksOf plans user i's reference tracks, their analyses and frame layout.
func (g *gen) tracksOf(i int) []trackP {
	u := &g.users[i]
	if !u.has(fRef) {
		return nil
	}
	r := g.rng("reference_tracks", i)
	out := make([]trackP, min(6, 1+r.count(u.w*0.4)))
	for k := range out {
		t := trackP{id: r.uid(), created: r.at(u.from(), Base.AddDate(0, 0, -1)), durMS: r.n(60, 480) * 1000}
		for _, ti := range r.Perm(4)[:r.n(1, 3)] {
			a := analysisP{id: r.uid(), typ: []string{"full", "quick", "spectral", "loudness"}[ti], created: r.after(t.created, time.Hour)}
			switch x := r.Float64(); {
			case x < 0.75:
				a.status = "completed"
			case x < 0.85:
				a.status = "failed"
			case x < 0.93:
				a.status = "pending"
			default:
				a.status = "running"
			}
			if a.status == "completed" && r.p(0.85) {
				m := &manifestP{id: r.uid(), hopMS: pick(r, []int{10, 20, 23, 50}), bpf: pick(r, []int{32, 64, 128})}
				m.chunkFrames = r.n(4096/m.bpf, 65536/m.bpf)
				m.chunks = r.n(1, min(6, 2+int(u.w/3)))
				m.frames = (m.chunks-1)*m.chunkFrames + r.n(4096/m.bpf, m.chunkFrames)
				a.manifest = m
			}
			t.analyses = append(t.analyses, a)
		}
		out[k] = t
	}
	return out
}

var genres = []string{"techno", "house", "ambient", "jazz", "classical", "hip-hop", "drum & bass", "lo-fi", "metal", "k-pop"}

func (g *gen) fillTracks(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("reference_tracks.c", i)
		for _, t := range g.tracksOf(i) {
			status := "ready"
			var errMsg any
			switch x := r.Float64(); {
			case x < 0.03:
				status, errMsg = "error", "decode failed: unsupported sample format"
			case x < 0.06:
				status = "processing"
			}
			s.row(t.id, u.id, r.title(), r.text(0.5), fmt.Sprintf("tracks/%s/%s.mp3", uidString(u.id), uidString(t.id)),
				int64(t.durMS)*40+int64(r.n(0, 1e6)), pick(r, []string{"audio/mpeg", "audio/mpeg", "audio/wav", "audio/flac"}),
				r.opt(0.1, float32(t.durMS)/1000), r.opt(0.3, r.name()), r.opt(0.5, r.title()), r.opt(0.3, pick(r, genres)),
				r.opt(0.3, float32(r.n(600, 1800))/10), r.opt(0.4, pick(r, []string{"C major", "A minor", "F♯ minor", "B♭ major"})),
				r.jsonTags(0.2), status, errMsg, t.created, r.at(t.created, Base))
		}
	}
}

func (g *gen) fillAnalyses(s *sink) {
	for i := range g.users {
		r := g.rng("track_analyses", i)
		for _, t := range g.tracksOf(i) {
			for _, a := range t.analyses {
				var started, done, errMsg any
				summary, manifest := "{}", "{}"
				switch a.status {
				case "completed":
					started, done = a.created, a.created.Add(time.Duration(r.n(5, 300))*time.Second)
					summary = js(map[string]any{"lufs": -float64(r.n(60, 160)) / 10, "peak_db": -float64(r.n(0, 30)) / 10, "bpm": r.n(60, 180)})
					if a.manifest != nil {
						manifest = js(map[string]any{"manifest_id": uidString(a.manifest.id), "chunks": a.manifest.chunks})
					}
				case "failed":
					started, errMsg = a.created, "analyzer crashed: "+pick(r, []string{"out of memory", "timeout", "NaN in FFT"})
				case "running":
					started = a.created
				}
				s.row(a.id, t.id, a.typ, pick(r, []string{"1.0", "1.1", "2.0-beta"}), a.status, started, done, errMsg,
					r.opt(0.05, summary), r.opt(0.05, manifest), a.created, r.at(a.created, Base))
			}
		}
	}
}

func (g *gen) fillManifests(s *sink) {
	for i := range g.users {
		r := g.rng("analysis_frame_manifests", i)
		for _, t := range g.tracksOf(i) {
			for _, a := range t.analyses {
				m := a.manifest
				if m == nil {
					continue
				}
				nb := m.bpf / 4
				bands := make([]map[string]any, nb)
				layout := make([]map[string]any, nb)
				for k := range bands {
					lo := 20 * math.Pow(2, float64(k)*10/float64(nb))
					bands[k] = map[string]any{"name": fmt.Sprintf("b%02d", k), "lo_hz": math.Round(lo), "hi_hz": math.Round(lo * math.Pow(2, 10/float64(nb)))}
					layout[k] = map[string]any{"offset": k * 4, "type": "float32", "field": fmt.Sprintf("b%02d", k)}
				}
				s.row(m.id, a.id, pick(r, []string{"1.0", "1.1"}), m.hopMS, m.frames, m.frames*m.hopMS, pick(r, []int{44100, 48000}),
					js(bands), m.bpf, js(layout), r.opt(0.3, `[{"t":0,"type":"start"}]`), r.opt(0.2, r.hex(32)),
					pick(r, []string{"1.0.0", "1.2.3"}), m.chunkFrames, m.chunks, a.created.Add(time.Minute))
			}
		}
	}
}

// sine is one period of a sine wave: frame data is a few waves plus noise,
// as packed float32 bands look.
var sine = func() (t [1024]float32) {
	for k := range t {
		t[k] = float32(math.Sin(2 * math.Pi * float64(k) / 1024))
	}
	return
}()

func (g *gen) tAnalysisFrameData() *table {
	return &table{name: "analysis_frame_data", cols: []string{"id", "manifest_id", "chunk_index", "start_frame", "end_frame",
		"start_time_ms", "end_time_ms", "frame_data", "frame_count", "compressed", "compression_type", "created_at"},
		fill: func(s *sink) {
			for i := range g.users {
				r := g.rng("analysis_frame_data", i)
				for _, t := range g.tracksOf(i) {
					for _, a := range t.analyses {
						m := a.manifest
						if m == nil {
							continue
						}
						for c := 0; c < m.chunks; c++ {
							start := c * m.chunkFrames
							n := min(m.chunkFrames, m.frames-start)
							data := make([]byte, n*m.bpf)
							nb := m.bpf / 4
							for f := 0; f < n; f++ {
								for b := 0; b < nb; b++ {
									v := sine[((start+f)*(b+1))&1023]*0.5 + float32(r.Uint32()&0xffff)/65536*0.1
									binary.LittleEndian.PutUint32(data[(f*nb+b)*4:], math.Float32bits(v))
								}
							}
							s.weigh(len(data))
							s.row(r.uid(), m.id, c, start, start+n-1, start*m.hopMS, (start+n)*m.hopMS, data, n, false,
								nil, a.created.Add(time.Minute))
						}
					}
				}
			}
		}}
}

func (g *gen) fillFrameChunks(s *sink) {
	for i := range g.users {
		r := g.rng("analysis_frame_chunks", i)
		for _, t := range g.tracksOf(i) {
			for _, a := range t.analyses {
				if a.status != "completed" {
					continue
				}
				per := t.durMS / 4
				for c := 0; c < r.n(1, 4); c++ {
					frames := make([][]float64, r.n(20, 120))
					for k := range frames {
						frames[k] = []float64{float64(c*per + k*50), round2(r.Float64()), round2(r.Float64()), round2(-r.Float64() * 60)}
					}
					s.row(r.uid(), a.id, c, c*per, (c+1)*per, js(map[string]any{"cols": []string{"t", "rms", "centroid", "db"}, "data": frames}),
						a.created.Add(time.Minute))
				}
			}
		}
	}
}

func (g *gen) fillAnalysisEvents(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("analysis_events", i)
		for _, t := range g.tracksOf(i) {
			for _, a := range t.analyses {
				if a.status != "completed" {
					continue
				}
				for k := r.n(10, 20+int(u.w*4)); k > 0; k-- {
					typ := pick(r, []string{"beat", "transient", "section", "drop", "silence"})
					var data any = "{}"
					if typ == "section" {
						data = js(map[string]string{"label": pick(r, []string{"intro", "verse", "chorus", "outro"})})
					} else if r.p(0.1) {
						data = nil
					}
					s.row(r.uid(), a.id, r.n(0, t.durMS), r.opt(0.5, r.n(10, 5000)), typ, data, r.opt(0.1, float32(r.Float64())), a.created.Add(time.Minute))
				}
			}
		}
	}
}

var annotationCategories = []string{"general", "technique", "mix", "mastering", "arrangement", "production"}

func (g *gen) fillAnnotations(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("track_annotations", i)
		tracks := g.tracksOf(i)
		for _, t := range tracks {
			for k := r.n(0, 8); k > 0; k-- {
				start := r.n(0, t.durMS-1)
				var end any
				if r.p(0.5) {
					end = r.n(start+1, t.durMS)
				}
				at := r.at(t.created, Base)
				s.row(r.uid(), t.id, u.id, start, end, r.title(), r.text(0.3), r.opt(0.1, pick(r, annotationCategories)),
					r.opt(0.1, pick(r, habitColors)), r.p(0.8), at, r.at(at, Base.Add(time.Second)))
			}
		}
		if v, ok := g.an.tenantAnnot[i]; ok && len(tracks) > 0 {
			id := r.uid()
			at := r.at(tracks[0].created, Base)
			s.row(id, tracks[0].id, g.users[v].id, 1000, 2000, "Nice snare", nil, "mix", nil, false, at, at)
			g.note("track_annotations", uidString(id), "tenant_mismatch", mappings.Rejected, mappings.ReasonTenantMismatch,
				fmt.Sprintf("user_id %s, track owner %s", uidString(g.users[v].id), uidString(u.id)))
		}
	}
}

var sectionTypes = []string{"intro", "verse", "chorus", "bridge", "breakdown", "buildup", "drop", "outro", "custom"}

func (g *gen) fillRegions(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("track_regions", i)
		tracks := g.tracksOf(i)
		for _, t := range tracks {
			n := r.n(0, 6)
			for k := 0; k < n; k++ {
				start := t.durMS * k / n
				at := r.at(t.created, Base)
				s.row(r.uid(), t.id, u.id, start, t.durMS*(k+1)/n, capitalize(pick(r, sectionTypes)), r.text(0.7),
					r.opt(0.1, pick(r, sectionTypes)), r.opt(0.1, pick(r, habitColors)), r.opt(0.1, k), at, r.at(at, Base.Add(time.Second)))
			}
		}
		if v, ok := g.an.tenantRegion[i]; ok && len(tracks) > 0 {
			id := r.uid()
			at := r.at(tracks[0].created, Base)
			s.row(id, tracks[0].id, g.users[v].id, 0, 15000, "Intro", nil, "intro", nil, 0, at, at)
			g.note("track_regions", uidString(id), "tenant_mismatch", mappings.Rejected, mappings.ReasonTenantMismatch,
				fmt.Sprintf("user_id %s, track owner %s", uidString(g.users[v].id), uidString(u.id)))
		}
	}
}

func (g *gen) fillPromptTemplates(s *sink) {
	r := g.rng("listening_prompt_templates", 0)
	cats := []string{"general", "frequency", "dynamics", "spatial", "arrangement", "production", "mixing", "mastering", "genre_specific"}
	for k, id := range g.cat.templates {
		var by any
		if r.p(0.6) {
			by = g.users[0].id
		}
		t := installedAt.AddDate(1, k, 0)
		s.row(id, r.title(), r.text(0.2), cats[k%len(cats)], pick(r, []string{"beginner", "intermediate", "advanced", "expert"}),
			r.sentence(), r.opt(0.1, js([]string{r.sentence(), r.sentence()})), r.opt(0.1, js([]string{r.sentence()})),
			r.jsonTags(0.1), k, r.p(0.9), by, t, r.at(t, Base))
	}
}

func (g *gen) fillPromptPresets(s *sink) {
	r := g.rng("listening_prompt_presets", 0)
	for k, id := range g.cat.presets {
		var tmpl, by any
		if r.p(0.7) {
			tmpl = pick(r, g.cat.templates)
		}
		if r.p(0.5) {
			by = g.users[0].id
		}
		t := installedAt.AddDate(1, k, 15)
		s.row(id, r.title(), r.text(0.3), tmpl, pick(r, []string{"focus", "comparison", "loop", "visualization"}),
			js(map[string]any{"loop": r.p(0.5), "gain_db": r.n(-12, 0), "band": pick(r, []string{"low", "mid", "high"})}),
			r.p(0.9), by, t, r.at(t, Base))
	}
}
