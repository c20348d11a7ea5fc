package audience_test
import ("bytes";"io";"testing";"time";"herald/audience";"herald/audience/audiencetest")
func TestQuick(t *testing.T){
 var b bytes.Buffer
 audiencetest.Generate(&b, 200000, 1)
 t.Log(b.String()[:600])
 st := time.Now()
 r, err := audience.NewReader(&b, "gen.csv", audience.Options{})
 if err != nil { t.Fatal(err) }
 n, bad := 0, 0
 for { rc, err := r.Next(); if err == io.EOF {break}; if err != nil { bad++; if bad < 10 {t.Log(err)}; continue}; n++; if n < 4 {t.Logf("%+v", rc)} }
 t.Log(n, bad, time.Since(st))
}
