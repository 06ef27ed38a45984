package crypto

// Benchmarks of every back-end side by side, and of the exported API ("api"),
// which uses the back-end this build selected. BENCH.md records the figures.
//
//	go test -run '^$' -bench . -benchtime 1s -count 5 ./crypto/
//	CGO_ENABLED=0 go test -run '^$' -bench . -benchtime 1s -count 5 ./crypto/

import (
	"crypto/rand"
	"fmt"
	"hash"
	"testing"

	"github.com/ethereum/go-ethereum/crypto/keccak"
	"golang.org/x/crypto/sha3"
)

type benchInput struct {
	d     [32]byte
	pub   PublicKey // d·G
	other PublicKey // another public key
	hash  [32]byte
	sig   [65]byte // Sign(hash, d)
}

func newBenchInput(b *testing.B) *benchInput {
	in := new(benchInput)
	rng := newTestRand(9)
	in.d = randScalar(rng)
	in.pub = decredPubkey(&in.d)
	d2 := randScalar(rng)
	in.other = decredPubkey(&d2)
	rng.Read(in.hash[:])
	in.sig, _ = decredSign(in.hash[:], &in.d)
	return in
}

func BenchmarkGenerateKey(b *testing.B) {
	for _, ops := range testBackends {
		if ops.pubkey == nil {
			continue
		}
		b.Run(ops.name, func(b *testing.B) {
			var d [32]byte
			for b.Loop() {
				rand.Read(d[:])
				if validScalar(&d) {
					ops.pubkey(&d)
				}
			}
		})
	}
	b.Run("api", func(b *testing.B) {
		for b.Loop() {
			if _, err := GenerateKey(nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkECDH(b *testing.B) {
	in := newBenchInput(b)
	for _, ops := range testBackends {
		if ops.ecdh == nil {
			continue
		}
		b.Run(ops.name, func(b *testing.B) {
			for b.Loop() {
				ops.ecdh(&in.d, &in.other)
			}
		})
	}
	b.Run("api", func(b *testing.B) {
		k, _ := PrivateKeyFromBytes(in.d[:])
		for b.Loop() {
			if _, err := k.ECDH(&in.other); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSign(b *testing.B) {
	in := newBenchInput(b)
	for _, ops := range testBackends {
		if ops.sign == nil {
			continue
		}
		b.Run(ops.name, func(b *testing.B) {
			for b.Loop() {
				ops.sign(in.hash[:], &in.d)
			}
		})
	}
	b.Run("api", func(b *testing.B) {
		k, _ := PrivateKeyFromBytes(in.d[:])
		for b.Loop() {
			if _, err := Sign(in.hash[:], k); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkRecover(b *testing.B) {
	in := newBenchInput(b)
	for _, ops := range testBackends {
		if ops.recover == nil {
			continue
		}
		b.Run(ops.name, func(b *testing.B) {
			for b.Loop() {
				ops.recover(in.hash[:], in.sig[:])
			}
		})
	}
	b.Run("api", func(b *testing.B) {
		for b.Loop() {
			if _, err := Recover(in.hash[:], in.sig[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	in := newBenchInput(b)
	for _, ops := range testBackends {
		if ops.verify == nil {
			continue
		}
		b.Run(ops.name, func(b *testing.B) {
			for b.Loop() {
				ops.verify(&in.pub, in.hash[:], in.sig[:64])
			}
		})
	}
	b.Run("api", func(b *testing.B) {
		for b.Loop() {
			if !Verify(&in.pub, in.hash[:], in.sig[:]) {
				b.Fatal("verify failed")
			}
		}
	})
}

// BenchmarkDecompress measures decoding a 33-byte compressed key, as in ENR
// "secp256k1" entries.
func BenchmarkDecompress(b *testing.B) {
	in := newBenchInput(b)
	c := in.pub.Compress()
	for _, ops := range testBackends {
		if ops.decompress == nil {
			continue
		}
		b.Run(ops.name, func(b *testing.B) {
			var p PublicKey
			for b.Loop() {
				ops.decompress(&c, &p)
			}
		})
	}
	b.Run("api", func(b *testing.B) {
		for b.Loop() {
			if _, err := ParsePublicKey(c[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkKeccak256 compares go-ethereum's crypto/keccak (amd64 assembly)
// with golang.org/x/crypto/sha3 on a reused state: Write, Read, Reset.
func BenchmarkKeccak256(b *testing.B) {
	impls := []struct {
		name string
		new  func() hash.Hash
	}{
		{"geth-keccak", keccak.NewLegacyKeccak256},
		{"x-crypto-sha3", sha3.NewLegacyKeccak256},
	}
	for _, size := range []int{32, 1024, 64 * 1024} {
		data := make([]byte, size)
		rand.Read(data)
		for _, impl := range impls {
			b.Run(fmt.Sprintf("%s/%dB", impl.name, size), func(b *testing.B) {
				h := impl.new().(KeccakState)
				var out [32]byte
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					h.Reset()
					h.Write(data)
					h.Read(out[:])
				}
			})
		}
		b.Run(fmt.Sprintf("api/%dB", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				Keccak256(data)
			}
		})
	}
}
