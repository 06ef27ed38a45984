package ecies

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/devp2p-go/devp2p/crypto"
)

// EIP-8 handshake packets (EIP-8, section "RLPx Handshake"; copied in
// /work/shared/vectors/README.md, section 1). Each is a 2-byte big-endian size
// followed by an ECIES ciphertext whose s2 is that size prefix. Auth packets
// are encrypted to static key B, ack packets to static key A.
const (
	eip8Auth2 = `
01b304ab7578555167be8154d5cc456f567d5ba302662433674222360f08d5f1534499d3678b513b
0fca474f3a514b18e75683032eb63fccb16c156dc6eb2c0b1593f0d84ac74f6e475f1b8d56116b84
9634a8c458705bf83a626ea0384d4d7341aae591fae42ce6bd5c850bfe0b999a694a49bbbaf3ef6c
da61110601d3b4c02ab6c30437257a6e0117792631a4b47c1d52fc0f8f89caadeb7d02770bf999cc
147d2df3b62e1ffb2c9d8c125a3984865356266bca11ce7d3a688663a51d82defaa8aad69da39ab6
d5470e81ec5f2a7a47fb865ff7cca21516f9299a07b1bc63ba56c7a1a892112841ca44b6e0034dee
70c9adabc15d76a54f443593fafdc3b27af8059703f88928e199cb122362a4b35f62386da7caad09
c001edaeb5f8a06d2b26fb6cb93c52a9fca51853b68193916982358fe1e5369e249875bb8d0d0ec3
6f917bc5e1eafd5896d46bd61ff23f1a863a8a8dcd54c7b109b771c8e61ec9c8908c733c0263440e
2aa067241aaa433f0bb053c7b31a838504b148f570c0ad62837129e547678c5190341e4f1693956c
3bf7678318e2d5b5340c9e488eefea198576344afbdf66db5f51204a6961a63ce072c8926c`
	eip8Auth3 = `
01b8044c6c312173685d1edd268aa95e1d495474c6959bcdd10067ba4c9013df9e40ff45f5bfd6f7
2471f93a91b493f8e00abc4b80f682973de715d77ba3a005a242eb859f9a211d93a347fa64b597bf
280a6b88e26299cf263b01b8dfdb712278464fd1c25840b995e84d367d743f66c0e54a586725b7bb
f12acca27170ae3283c1073adda4b6d79f27656993aefccf16e0d0409fe07db2dc398a1b7e8ee93b
cd181485fd332f381d6a050fba4c7641a5112ac1b0b61168d20f01b479e19adf7fdbfa0905f63352
bfc7e23cf3357657455119d879c78d3cf8c8c06375f3f7d4861aa02a122467e069acaf513025ff19
6641f6d2810ce493f51bee9c966b15c5043505350392b57645385a18c78f14669cc4d960446c1757
1b7c5d725021babbcd786957f3d17089c084907bda22c2b2675b4378b114c601d858802a55345a15
116bc61da4193996187ed70d16730e9ae6b3bb8787ebcaea1871d850997ddc08b4f4ea668fbf3740
7ac044b55be0908ecb94d4ed172ece66fd31bfdadf2b97a8bc690163ee11f5b575a4b44e36e2bfb2
f0fce91676fd64c7773bac6a003f481fddd0bae0a1f31aa27504e2a533af4cef3b623f4791b2cca6
d490`
	eip8Ack2 = `
01ea0451958701280a56482929d3b0757da8f7fbe5286784beead59d95089c217c9b917788989470
b0e330cc6e4fb383c0340ed85fab836ec9fb8a49672712aeabbdfd1e837c1ff4cace34311cd7f4de
05d59279e3524ab26ef753a0095637ac88f2b499b9914b5f64e143eae548a1066e14cd2f4bd7f814
c4652f11b254f8a2d0191e2f5546fae6055694aed14d906df79ad3b407d94692694e259191cde171
ad542fc588fa2b7333313d82a9f887332f1dfc36cea03f831cb9a23fea05b33deb999e85489e645f
6aab1872475d488d7bd6c7c120caf28dbfc5d6833888155ed69d34dbdc39c1f299be1057810f34fb
e754d021bfca14dc989753d61c413d261934e1a9c67ee060a25eefb54e81a4d14baff922180c395d
3f998d70f46f6b58306f969627ae364497e73fc27f6d17ae45a413d322cb8814276be6ddd13b885b
201b943213656cde498fa0e9ddc8e0b8f8a53824fbd82254f3e2c17e8eaea009c38b4aa0a3f306e8
797db43c25d68e86f262e564086f59a2fc60511c42abfb3057c247a8a8fe4fb3ccbadde17514b7ac
8000cdb6a912778426260c47f38919a91f25f4b5ffb455d6aaaf150f7e5529c100ce62d6d92826a7
1778d809bdf60232ae21ce8a437eca8223f45ac37f6487452ce626f549b3b5fdee26afd2072e4bc7
5833c2464c805246155289f4`
	eip8Ack3 = `
01f004076e58aae772bb101ab1a8e64e01ee96e64857ce82b1113817c6cdd52c09d26f7b90981cd7
ae835aeac72e1573b8a0225dd56d157a010846d888dac7464baf53f2ad4e3d584531fa203658fab0
3a06c9fd5e35737e417bc28c1cbf5e5dfc666de7090f69c3b29754725f84f75382891c561040ea1d
dc0d8f381ed1b9d0d4ad2a0ec021421d847820d6fa0ba66eaf58175f1b235e851c7e2124069fbc20
2888ddb3ac4d56bcbd1b9b7eab59e78f2e2d400905050f4a92dec1c4bdf797b3fc9b2f8e84a482f3
d800386186712dae00d5c386ec9387a5e9c9a1aca5a573ca91082c7d68421f388e79127a5177d4f8
590237364fd348c9611fa39f78dcdceee3f390f07991b7b47e1daa3ebcb6ccc9607811cb17ce51f1
c8c2c5098dbdd28fca547b3f58c01a424ac05f869f49c6a34672ea2cbbc558428aa1fe48bbfd6115
8b1b735a65d99f21e70dbc020bfdface9f724a0d1fb5895db971cc81aa7608baa0920abb0a565c9c
436e2fd13323428296c86385f2384e408a31e104670df0791d93e743a3a5194ee6b076fb6323ca59
3011b7348c16cf58f66b9633906ba54a2ee803187344b394f75dd2e663a57b956cb830dd7a908d4f
39a2336a61ef9fda549180d4ccde21514d117b6c6fd07a9102b5efe710a32af4eeacae2cb3b1dec0
35b9593b48b9d3ca4c13d245d5f04169b0b1`
)

const (
	staticKeyA = "49a7b37aa6f6645917e7b807e9d1c00d4fa71f18343b0d4122a4d2df64dd6fee"
	staticKeyB = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291"
	pubA       = "fda1cff674c90c9a197539fe3dfb53086ace64f83ed7c6eabec741f7f381cc803e52ab2cd55d5569bce4347107a310dfd5f88a010cd2ffd1005ca406f1842877"
	pubEphB    = "b6d82fa3409da933dbf9cb0140c5dde89f4e64aec88d476af648880f4a10e1e49fe35ef3e69e93dd300b4797765a747c6384a6ecf5db9c2690398607a86181e4"
	nonceA     = "7e968bba13b6c50e2c4cd7f241cc0d64d1ac25c7f5952df231ac6a2bda8ee5d6"
	nonceB     = "559aead08264d5795d3909718cdd05abd49572e84fe55590eef31a88a08fdffd"
	authSig    = "299ca6acfd35e3d72d8ba3d1e2b60b5561d5af5218eb5bc182045769eb4226910a301acae3b369fffc4a4899d6b02531e89fd4fe36a2cf0d93607ba470b50f7800"
)

// decryptPacket decrypts an EIP-8 handshake packet with the hex key: the size
// prefix is stripped and passed as s2.
func decryptPacket(t *testing.T, packetHex, keyHex string) []byte {
	t.Helper()
	packet := mustHex(t, packetHex)
	size := int(packet[0])<<8 | int(packet[1])
	if size != len(packet)-2 {
		t.Fatalf("size prefix %d, packet has %d bytes after it", size, len(packet)-2)
	}
	k, err := crypto.HexToPrivateKey(keyHex)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := Decrypt(k, packet[2:], nil, packet[:2])
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if len(pt) != size-Overhead {
		t.Fatalf("plaintext is %d bytes, want %d", len(pt), size-Overhead)
	}
	// Without the prefix as s2 the tag does not match.
	if _, err := Decrypt(k, packet[2:], nil, nil); !errors.Is(err, ErrInvalidMAC) {
		t.Fatalf("Decrypt without s2: error %v, want ErrInvalidMAC", err)
	}
	return pt
}

// TestDecryptEIP8Auth2 decrypts the EIP-8 Auth₂ packet with static key B. The
// plaintext is the RLP list [signature, initiator-pubkey, initiator-nonce, 4]
// followed by random padding; the signature is the vector's 299ca6ac….
func TestDecryptEIP8Auth2(t *testing.T) {
	t.Parallel()
	pt := decryptPacket(t, eip8Auth2, staticKeyB)
	items := rlpListStrings(t, pt)
	want := []string{authSig, pubA, nonceA, "04"}
	if len(items) != len(want) {
		t.Fatalf("auth body has %d items, want %d", len(items), len(want))
	}
	for i, w := range want {
		if got := hex.EncodeToString(items[i]); got != w {
			t.Errorf("item %d = %s, want %s", i, got, w)
		}
	}
}

// TestDecryptEIP8 decrypts the other EIP-8 packets: Auth₃ (version 56 and
// three extra list elements) with key B, Ack₂ and Ack₃ with key A.
func TestDecryptEIP8(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, packet, key string
		wantPrefix        []string // first list items
		wantItems         int
	}{
		{"Auth₃", eip8Auth3, staticKeyB, []string{authSig, pubA, nonceA, "38"}, 7},
		{"Ack₂", eip8Ack2, staticKeyA, []string{pubEphB, nonceB, "04"}, 3},
		{"Ack₃", eip8Ack3, staticKeyA, []string{pubEphB, nonceB, "39"}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items := rlpListStrings(t, decryptPacket(t, tc.packet, tc.key))
			if len(items) != tc.wantItems {
				t.Fatalf("%d items, want %d", len(items), tc.wantItems)
			}
			for i, w := range tc.wantPrefix {
				if got := hex.EncodeToString(items[i]); got != w {
					t.Errorf("item %d = %s, want %s", i, got, w)
				}
			}
		})
	}
}

// Code below here is the framework for the tests above.

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rlpListStrings parses the RLP list at the start of b (trailing padding is
// ignored) and returns its items: strings as their content, nested lists as
// their whole encoding. It is just enough RLP for the handshake bodies.
func rlpListStrings(t *testing.T, b []byte) [][]byte {
	t.Helper()
	content, _, isList := rlpItem(t, b)
	if !isList {
		t.Fatalf("plaintext does not start with an RLP list: %x", b[:4])
	}
	var items [][]byte
	for len(content) > 0 {
		item, rest, isList := rlpItem(t, content)
		if isList {
			item = content[:len(content)-len(rest)]
		}
		items = append(items, item)
		content = rest
	}
	return items
}

// rlpItem splits off the first RLP item of b.
func rlpItem(t *testing.T, b []byte) (content, rest []byte, isList bool) {
	t.Helper()
	if len(b) == 0 {
		t.Fatal("RLP: empty input")
	}
	var hdr, size int
	switch p := int(b[0]); {
	case p < 0x80:
		return b[:1], b[1:], false
	case p < 0xb8:
		hdr, size = 1, p-0x80
	case p < 0xc0:
		n := p - 0xb7
		hdr, size = 1+n, beInt(b[1:1+n])
	case p < 0xf8:
		hdr, size, isList = 1, p-0xc0, true
	default:
		n := p - 0xf7
		hdr, size, isList = 1+n, beInt(b[1:1+n]), true
	}
	if hdr+size > len(b) {
		t.Fatalf("RLP: item of %d bytes exceeds input of %d", hdr+size, len(b))
	}
	return b[hdr : hdr+size], b[hdr+size:], isList
}

func beInt(b []byte) int {
	n := 0
	for _, c := range b {
		n = n<<8 | int(c)
	}
	return n
}
