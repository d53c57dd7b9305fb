"""The simulated PBX: scenario-driven, seeded, in virtual or real time."""
