package engine

import "github.com/pgm-explorer/pgm-explorer/engine/phys"

// PhysMemory lets external tests name the memory type.
type PhysMemory = phys.Memory
