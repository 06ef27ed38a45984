package v4wire

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/devp2p-go/devp2p/crypto"
	"github.com/devp2p-go/devp2p/rlp"
)

// The discovery packets of EIP-8 ("RLPx Discovery Protocol"), signed with
// this key, and go-ethereum's plain ping; see vectors/README.md §4.
const vectorKey = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291"

// vectorExpiration is the expiration of every vector (2006-01-02T22:04:05Z).
const vectorExpiration = 1136239445

type vectorTest struct {
	name    string // the section of vectors/README.md
	input   string
	want    Packet
	wantErr error // for the packets go-ethereum rejects since EIP-868
}

var vectorTests = []vectorTest{
	{
		name: "4.1 ping v4 with extra list elements",
		input: `
			e9614ccfd9fc3e74360018522d30e1419a143407ffcce748de3e22116b7e8dc92ff74788c0b6663a
			aa3d67d641936511c8f8d6ad8698b820a7cf9e1be7155e9a241f556658c55428ec0563514365799a
			4be2be5a685a80971ddcfa80cb422cdd0101ec04cb847f000001820cfa8215a8d790000000000000
			000000000000000000018208ae820d058443b9a3550102`,
		want: &Ping{
			Version:    4,
			From:       Endpoint{IP: netip.MustParseAddr("127.0.0.1"), UDP: 3322, TCP: 5544},
			To:         Endpoint{IP: netip.MustParseAddr("::1"), UDP: 2222, TCP: 3333},
			Expiration: vectorExpiration,
			ENRSeq:     1,
			Rest:       []byte{0x02},
		},
	},
	{
		name: "4.2 ping v555 with extra list elements and data",
		input: `
			577be4349c4dd26768081f58de4c6f375a7a22f3f7adda654d1428637412c3d7fe917cadc56d4e5e
			7ffae1dbe3efffb9849feb71b262de37977e7c7a44e677295680e9e38ab26bee2fcbae207fba3ff3
			d74069a50b902a82c9903ed37cc993c50001f83e82022bd79020010db83c4d001500000000abcdef
			12820cfa8215a8d79020010db885a308d313198a2e037073488208ae82823a8443b9a355c5010203
			040531b9019afde696e582a78fa8d95ea13ce3297d4afb8ba6433e4154caa5ac6431af1b80ba7602
			3fa4090c408f6b4bc3701562c031041d4702971d102c9ab7fa5eed4cd6bab8f7af956f7d565ee191
			7084a95398b6a21eac920fe3dd1345ec0a7ef39367ee69ddf092cbfe5b93e5e568ebc491983c09c7
			6d922dc3`,
		wantErr: rlp.ErrExpectedString, // enr-seq is a list
	},
	{
		name: "4.3 pong with extra list elements and data",
		input: `
			09b2428d83348d27cdf7064ad9024f526cebc19e4958f0fdad87c15eb598dd61d08423e0bf66b206
			9869e1724125f820d851c136684082774f870e614d95a2855d000f05d1648b2d5945470bc187c2d2
			216fbe870f43ed0909009882e176a46b0102f846d79020010db885a308d313198a2e037073488208
			ae82823aa0fbc914b16819237dcd8801d7e53f69e9719adecb3cc0e790c57e91ca4461c9548443b9
			a355c6010203c2040506a0c969a58f6f9095004c0177a6b47f451530cab38966a25cca5cb58f0555
			42124e`,
		wantErr: rlp.ErrExpectedString, // enr-seq is a list
	},
	{
		name: "4.4 findnode with extra list elements and data",
		input: `
			c7c44041b9f7c7e41934417ebac9a8e1a4c6298f74553f2fcfdcae6ed6fe53163eb3d2b52e39fe91
			831b8a927bf4fc222c3902202027e5e9eb812195f95d20061ef5cd31d502e47ecb61183f74a504fe
			04c51e73df81f25c4d506b26db4517490103f84eb840ca634cae0d49acb401d8a4c6b6fe8c55b70d
			115bf400769cc1400f3258cd31387574077f301b421bc84df7266c44e9e6d569fc56be0081290476
			7bf5ccd1fc7f8443b9a35582999983999999280dc62cc8255c73471e0a61da0c89acdc0e035e260a
			dd7fc0c04ad9ebf3919644c91cb247affc82b69bd2ca235c71eab8e49737c937a2c396`,
		want: &Findnode{
			Target:     hexPubkey("ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd31387574077f301b421bc84df7266c44e9e6d569fc56be00812904767bf5ccd1fc7f"),
			Expiration: vectorExpiration,
			Rest:       []byte{0x82, 0x99, 0x99, 0x83, 0x99, 0x99, 0x99},
		},
	},
	{
		name: "4.5 neighbours with extra list elements and data",
		input: `
			c679fc8fe0b8b12f06577f2e802d34f6fa257e6137a995f6f4cbfc9ee50ed3710faf6e66f932c4c8
			d81d64343f429651328758b47d3dbc02c4042f0fff6946a50f4a49037a72bb550f3a7872363a83e1
			b9ee6469856c24eb4ef80b7535bcf99c0004f9015bf90150f84d846321163782115c82115db84031
			55e1427f85f10a5c9a7755877748041af1bcd8d474ec065eb33df57a97babf54bfd2103575fa8291
			15d224c523596b401065a97f74010610fce76382c0bf32f84984010203040101b840312c55512422
			cf9b8a4097e9a6ad79402e87a15ae909a4bfefa22398f03d20951933beea1e4dfa6f968212385e82
			9f04c2d314fc2d4e255e0d3bc08792b069dbf8599020010db83c4d001500000000abcdef12820d05
			820d05b84038643200b172dcfef857492156971f0e6aa2c538d8b74010f8e140811d53b98c765dd2
			d96126051913f44582e8c199ad7c6d6819e9a56483f637feaac9448aacf8599020010db885a308d3
			13198a2e037073488203e78203e8b8408dcab8618c3253b558d459da53bd8fa68935a719aff8b811
			197101a4b2b47dd2d47295286fc00cc081bb542d760717d1bdd6bec2c37cd72eca367d6dd3b9df73
			8443b9a355010203b525a138aa34383fec3d2719a0`,
		want: &Neighbors{
			Nodes: []Node{
				{
					ID:  hexPubkey("3155e1427f85f10a5c9a7755877748041af1bcd8d474ec065eb33df57a97babf54bfd2103575fa829115d224c523596b401065a97f74010610fce76382c0bf32"),
					IP:  netip.MustParseAddr("99.33.22.55"),
					UDP: 4444,
					TCP: 4445,
				},
				{
					ID:  hexPubkey("312c55512422cf9b8a4097e9a6ad79402e87a15ae909a4bfefa22398f03d20951933beea1e4dfa6f968212385e829f04c2d314fc2d4e255e0d3bc08792b069db"),
					IP:  netip.MustParseAddr("1.2.3.4"),
					UDP: 1,
					TCP: 1,
				},
				{
					ID:  hexPubkey("38643200b172dcfef857492156971f0e6aa2c538d8b74010f8e140811d53b98c765dd2d96126051913f44582e8c199ad7c6d6819e9a56483f637feaac9448aac"),
					IP:  netip.MustParseAddr("2001:db8:3c4d:15::abcd:ef12"),
					UDP: 3333,
					TCP: 3333,
				},
				{
					ID:  hexPubkey("8dcab8618c3253b558d459da53bd8fa68935a719aff8b811197101a4b2b47dd2d47295286fc00cc081bb542d760717d1bdd6bec2c37cd72eca367d6dd3b9df73"),
					IP:  netip.MustParseAddr("2001:db8:85a3:8d3:1319:8a2e:370:7348"),
					UDP: 999,
					TCP: 1000,
				},
			},
			Expiration: vectorExpiration,
			Rest:       []byte{0x01, 0x02, 0x03},
		},
	},
	{
		name:  "4.6 plain ping v4",
		input: `71dbda3a79554728d4f94411e42ee1f8b0d561c10e1e5f5893367948c6a7d70bb87b235fa28a77070271b6c164a2dce8c7e13a5739b53b5e96f2e5acb0e458a02902f5965d55ecbeb2ebb6cabb8b2b232896a36b737666c55265ad0a68412f250001ea04cb847f000001820cfa8215a8d790000000000000000000000000000000018208ae820d058443b9a355`,
		want: &Ping{
			Version:    4,
			From:       Endpoint{IP: netip.MustParseAddr("127.0.0.1"), UDP: 3322, TCP: 5544},
			To:         Endpoint{IP: netip.MustParseAddr("::1"), UDP: 2222, TCP: 3333},
			Expiration: vectorExpiration,
		},
	},
}

// TestVectors decodes every discv4 packet of vectors/README.md §4. Those
// that go-ethereum accepts decode to its expected values; the two whose
// enr-seq slot holds a list (4.2, 4.3) are rejected as go-ethereum rejects
// them, although their hash and signature are valid.
func TestVectors(t *testing.T) {
	key, err := crypto.HexToPrivateKey(vectorKey)
	if err != nil {
		t.Fatal(err)
	}
	wantKey := Pubkey(*key.Public())
	if !strings.HasPrefix(hex.EncodeToString(wantKey[:]), "ca634cae") {
		t.Fatalf("vector key has public key %x", wantKey[:4])
	}
	for _, test := range vectorTests {
		t.Run(test.name, func(t *testing.T) {
			input := unhex(test.input)
			// Hash and signature are valid in every vector.
			if _, _, err := Unwrap(input); err != nil {
				t.Fatalf("Unwrap: %v", err)
			}
			if from, err := Sender(input); err != nil || from != wantKey {
				t.Fatalf("Sender: %x, %v", from[:4], err)
			}

			p, from, hash, err := Decode(input)
			if [32]byte(input[:32]) != hash && (err == nil || test.wantErr != nil) {
				t.Errorf("hash %x, want %x", hash, input[:32])
			}
			if test.wantErr != nil {
				if !errors.Is(err, test.wantErr) || !errors.Is(err, ErrInvalidPacket) {
					t.Fatalf("error %v, want %v and %v", err, ErrInvalidPacket, test.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if from != wantKey {
				t.Errorf("sender %x, want %x", from, wantKey)
			}
			if !reflect.DeepEqual(p, test.want) {
				t.Errorf("decoded\n%#v\nwant\n%#v", p, test.want)
			}
		})
	}
}

func unhex(s string) []byte {
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func hexPubkey(s string) (k Pubkey) {
	b := unhex(s)
	if len(b) != len(k) {
		panic("bad pubkey length")
	}
	copy(k[:], b)
	return k
}
