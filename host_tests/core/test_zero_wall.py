# zero_current during a sensor fault (issue 12 item 7): the measurement counts op_time, which stops with the
# samples, so it waited for ever (and the BLE console, awaiting it, never advertised again). It now ends after
# 10 s of wall time with a clear rejection and changes nothing. Dual runtime.
from test_app import make, advance


def test_zero_current_during_a_sensor_fault_is_rejected_after_10_s_of_wall_time():
    app, chip, uart, t = make(current_ma=0)
    advance(app, chip, t, 2000)
    chip.remove()
    advance(app, chip, t, 1500)
    assert app.sampler.fault
    app.device.zero_current_start()
    advance(app, chip, t, 9000)
    assert app.device.zero_result is None                        # still measuring: not before 10 s
    advance(app, chip, t, 1100)
    nv, msg = app.device.zero_result
    assert nv is None and "sensor fault" in msg and "nothing changed" in msg
    assert app.device.offset_nv == 0
    # a new request starts a new measurement, which succeeds once the sensor is back
    chip.insert()
    advance(app, chip, t, 3000)
    app.device.zero_current_start()
    advance(app, chip, t, 12000)
    assert app.device.zero_result[0] == 0 and app.device.offset_nv == 0


def test_a_healthy_measurement_still_ends_on_10_s_of_samples():
    app, chip, uart, t = make(current_ma=0)
    chip.offset_nv = 5000
    advance(app, chip, t, 2000)
    app.device.zero_current_start()
    advance(app, chip, t, 12000)
    assert app.device.zero_result[0] == 5000 and app.device.offset_nv == 5000
