from __future__ import annotations

import numpy as np
import pytest

from pipelines.synth.physics import (
    G,
    fall_distance_closed_form,
    fall_speed_closed_form,
    integrate_fall,
)


@pytest.mark.parametrize("vt", [4.0, 12.0, 30.0, 45.0])
def test_dropped_object_height_follows_closed_form_with_quadratic_drag(vt: float) -> None:
    times = np.linspace(0.0, 4.0, 101)
    z0 = 120.0
    pos, landed = integrate_fall(np.array([3.0, -0.5, z0]), np.zeros(3), vt, times)
    expected = z0 - fall_distance_closed_form(times, vt)
    assert not landed.any()
    np.testing.assert_allclose(pos[:, 2], expected, atol=1e-3)
    # a dropped body moves only vertically in still air
    np.testing.assert_allclose(pos[:, :2], np.broadcast_to([3.0, -0.5], (101, 2)), atol=1e-9)


def test_speed_approaches_terminal_velocity_and_starts_at_g() -> None:
    vt = 20.0
    times = np.array([0.0, 0.01, 0.02, 6.0, 6.01])
    pos, _ = integrate_fall(np.array([0.0, 0.0, 500.0]), np.zeros(3), vt, times)
    early = (pos[0, 2] - pos[2, 2]) / 0.02**2 * 2  # z = g t^2 / 2 near release
    assert early == pytest.approx(G, rel=0.02)
    late_speed = (pos[3, 2] - pos[4, 2]) / 0.01
    assert late_speed == pytest.approx(fall_speed_closed_form(6.0, vt), rel=1e-3)
    assert late_speed == pytest.approx(vt, rel=0.01)


def test_body_stops_on_the_ground() -> None:
    times = np.linspace(0, 5, 51)
    pos, landed = integrate_fall(
        np.array([0.0, 0.0, 10.0]), np.array([0.0, -2.0, 3.0]), 30.0, times
    )
    assert landed[-1] and not landed[0]
    assert pos[-1, 2] == 0.0
    first = int(np.argmax(landed))
    np.testing.assert_allclose(pos[first:], np.broadcast_to(pos[first], pos[first:].shape))


def test_upward_throw_rises_before_falling() -> None:
    times = np.linspace(0, 2, 201)
    pos, _ = integrate_fall(np.array([0.0, 0.0, 50.0]), np.array([0.0, 0.0, 4.0]), 30.0, times)
    top = int(np.argmax(pos[:, 2]))
    assert 0 < top < 200
    assert pos[top, 2] == pytest.approx(50 + 4.0**2 / (2 * G), abs=0.03)
