package email
import ("testing";"time";"context";"strings")
func TestZZTiming(t *testing.T){
 ts := startServer(t, serverOpts{discard: true})
 s := newTestSender(t, ts, cfgFor(ts), 1)
 m := message("bench", "r", "someone@example.com")
 for _, big := range []bool{false,true} {
 if big { m.Text = strings.Repeat("Hello, your order is late. We are sorry.\n", 25) }
 for i:=0;i<3;i++{
  t0:=time.Now()
  n:=2000
  for j:=0;j<n;j++{ s.Send(context.Background(), m) }
  t.Log(big, time.Since(t0)/time.Duration(n))
 }
 }
 t0:=time.Now()
 for j:=0;j<2000;j++{ s.Encode(m) }
 t.Log("encode", time.Since(t0)/2000)
}
