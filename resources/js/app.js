// Agora client helpers
