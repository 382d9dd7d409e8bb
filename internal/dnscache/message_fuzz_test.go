package dnscache

import (
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// FuzzAnswer feeds arbitrary server messages to the cache's reading of
// answers: nothing panics, and whatever is kept is served as a well-formed
// answer to the asker's own question, under its ID, with no TTL above the
// server's.
func FuzzAnswer(f *testing.F) {
	name := dnsmessage.MustNewName("fuzz.hooks.test.")
	question := dnsmessage.Question{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	build := func(h dnsmessage.Header, records func(b *dnsmessage.Builder)) []byte {
		b := dnsmessage.NewBuilder(nil, h)
		b.EnableCompression()
		_ = b.StartQuestions()
		_ = b.Question(question)
		records(&b)
		msg, err := b.Finish()
		if err != nil {
			f.Fatal(err)
		}
		return msg
	}
	rh := dnsmessage.ResourceHeader{Name: name, Class: dnsmessage.ClassINET, TTL: 60}
	f.Add(build(dnsmessage.Header{ID: 9, Response: true}, func(b *dnsmessage.Builder) {
		_ = b.StartAnswers()
		_ = b.AResource(rh, dnsmessage.AResource{A: [4]byte{192, 0, 2, 1}})
		_ = b.AResource(rh, dnsmessage.AResource{A: [4]byte{192, 0, 2, 2}})
	}))
	f.Add(build(dnsmessage.Header{ID: 9, Response: true, RCode: dnsmessage.RCodeNameError}, func(b *dnsmessage.Builder) {
		_ = b.StartAuthorities()
		_ = b.SOAResource(rh, dnsmessage.SOAResource{NS: name, MBox: name, MinTTL: 30})
	}))
	f.Add(build(dnsmessage.Header{ID: 9, Response: true}, func(b *dnsmessage.Builder) {
		_ = b.StartAnswers()
		_ = b.CNAMEResource(rh, dnsmessage.CNAMEResource{CNAME: name})
		_ = b.StartAdditionals()
		var opt dnsmessage.ResourceHeader
		_ = opt.SetEDNS0(1232, dnsmessage.RCodeSuccess, true)
		_ = b.OPTResource(opt, dnsmessage.OPTResource{})
	}))

	qb := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 9, RecursionDesired: true})
	_ = qb.StartQuestions()
	_ = qb.Question(dnsmessage.Question{Name: dnsmessage.MustNewName("FUZZ.hooks.test."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	rawQuery, err := qb.Finish()
	if err != nil {
		f.Fatal(err)
	}
	q, ok := parseQuery(rawQuery)
	if !ok {
		f.Fatal("the query does not parse")
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		a, why, ok := checkAnswer(q, b, time.Hour, time.Minute)
		if why < 0 || why >= NumReasons {
			t.Fatalf("reason %d out of range", why)
		}
		if !ok {
			return
		}
		if a.life <= 0 || a.life > time.Hour {
			t.Fatalf("kept for %v", a.life)
		}
		var orig dnsmessage.Message
		if err := orig.Unpack(b); err != nil {
			t.Fatalf("kept a message that does not unpack: %v", err)
		}
		asker := q
		asker.id = 0x7777
		served := a.serve(nil, asker, 3*time.Second)
		var m dnsmessage.Message
		if err := m.Unpack(served); err != nil {
			t.Fatalf("served a message that does not unpack: %v", err)
		}
		if m.ID != 0x7777 || len(m.Questions) != 1 || m.Questions[0].Name.String() != "FUZZ.hooks.test." {
			t.Fatalf("served ID %#x, questions %v", m.ID, m.Questions)
		}
		for _, section := range [][2][]dnsmessage.Resource{{orig.Answers, m.Answers}, {orig.Authorities, m.Authorities}, {orig.Additionals, m.Additionals}} {
			for i := range section[0] {
				was, is := section[0][i].Header, section[1][i].Header
				if was.Type == dnsmessage.TypeOPT {
					if is.TTL != was.TTL {
						t.Fatalf("the OPT record's flags changed: %#x to %#x", was.TTL, is.TTL)
					}
					continue
				}
				if want := ttlValue(was.TTL) - min(ttlValue(was.TTL), 3); is.TTL != want {
					t.Fatalf("TTL %d served as %d, want %d", was.TTL, is.TTL, want)
				}
			}
		}
	})
}
