package p2p

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/devp2p-go/devp2p/enode"
)

// Message events report protocol-relative codes and sizes both ways.
func TestEventsMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, p, events := connectRaw(t, []Protocol{echoProto("echo", 1)}, []Cap{{"echo", 1}}, func(c *Config) {
			c.EnableMsgEvents = true
		})
		p.send(16+3, mustEncode(t, uint(41)))
		p.next()
		recv, send := <-events, <-events
		if recv.Type != PeerEventTypeMsgRecv || *recv.MsgCode != 3 || *recv.MsgSize != 1 || recv.Protocol != "echo" {
			t.Fatalf("recv event %+v", recv)
		}
		if send.Type != PeerEventTypeMsgSend || *send.MsgCode != 3 || *send.MsgSize != 1 || send.Peer != n.Peers()[0].ID() {
			t.Fatalf("send event %+v", send)
		}
		js, err := json.Marshal(recv)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{`"type":"msgrecv"`, `"peer":"`, `"protocol":"echo"`, `"msg_code":3`, `"msg_size":1`} {
			if !strings.Contains(string(js), key) {
				t.Errorf("JSON %s lacks %s", js, key)
			}
		}
	})
}

// A subscriber that does not read is dropped with an error; the server
// and other subscribers carry on.
func TestEventsSlowSubscriber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f eventFeed
		slow := make(chan *PeerEvent)
		fast := make(chan *PeerEvent, 2*maxPendingEvents)
		slowSub := f.subscribe(slow)
		fastSub := f.subscribe(fast)
		for i := range maxPendingEvents + 10 {
			f.send(&PeerEvent{Type: PeerEventTypeAdd, Peer: enode.ID{1}})
			if i%64 == 0 {
				// Let the fast subscriber's goroutine drain its queue, as
				// a reading subscriber does; without it a burst of sends
				// can overflow that queue too when the goroutine is not
				// scheduled in time.
				synctest.Wait()
			}
		}
		synctest.Wait()
		if err := <-slowSub.Err(); err != ErrSubscriptionOverflow {
			t.Fatalf("slow subscriber error %v", err)
		}
		if len(fast) != maxPendingEvents+10 {
			t.Fatalf("fast subscriber got %d events", len(fast))
		}
		fastSub.Unsubscribe()
		if _, ok := <-fastSub.Err(); ok {
			t.Fatal("error after Unsubscribe")
		}
		f.close()
		// Subscribing after close yields an ended subscription.
		if _, ok := <-f.subscribe(fast).Err(); ok {
			t.Fatal("subscription after close")
		}
	})
}

func TestMsgPipe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := MsgPipe()
		go func() {
			Send(a, 5, []uint{1, 2})
			Send(a, 6, "x")
		}()
		if err := ExpectMsg(b, 5, []uint{1, 2}); err != nil {
			t.Fatal(err)
		}
		if err := ExpectMsg(b, 5, nil); err == nil || !strings.Contains(err.Error(), "code mismatch") {
			t.Fatalf("wrong code accepted: %v", err)
		}
		go Send(a, 7, "y")
		if err := ExpectMsg(b, 7, "z"); err == nil {
			t.Fatal("wrong payload accepted")
		}
		a.Close()
		if _, err := b.ReadMsg(); err != ErrPipeClosed {
			t.Fatalf("read after close: %v", err)
		}
		if err := Send(b, 1, uint(1)); err != ErrPipeClosed {
			t.Fatalf("write after close: %v", err)
		}
	})
}

func TestMsgDecode(t *testing.T) {
	t.Parallel()
	msg := Msg{Code: 1, Size: 3, Payload: newPayload([]byte{0xc2, 0x01, 0x02})}
	var v []uint
	if err := msg.Decode(&v); err != nil || len(v) != 2 {
		t.Fatalf("Decode: %v %v", v, err)
	}
	bad := Msg{Code: 1, Size: 1, Payload: strings.NewReader("\xc5")}
	if err := bad.Decode(&v); DiscReasonFor(err) != DiscProtocolError {
		t.Fatalf("Decode of bad payload: %v", err)
	}
	if err := (Msg{Size: 2, Payload: strings.NewReader("ab")}).Discard(); err != nil {
		t.Fatal(err)
	}
}
