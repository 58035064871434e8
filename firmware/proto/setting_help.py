# One or two sentences per setting for `help <setting>`: what it does, and what happens when it is wrong.
# Spec: battery-monitor.md §1-§7, §10-§11. Kept apart from shunt.settings so it is loaded only when asked for.

TEXT = {
    "capacity": "Battery capacity at the 20 h rate (C20). SOC is charge removed out of this; changing it rescales "
                "SOC at once (same charge removed, new capacity).",
    "charged_voltage": "The voltage above which the battery may count as full: set it a little below the charger's "
                       "absorption voltage (0.2 V for 12 V), above the float and rest voltage. Too high: never syncs; "
                       "too low: syncs too early. 0.0 turns automatic sync off. See sync_status.",
    "tail_current": "Full also needs the charge current below this share of capacity (4 % of 200 Ah = 8 A). Set it "
                    "above the current your charger still delivers at the end of absorption.",
    "charged_detection_time": "How long voltage and current must both hold before the monitor syncs to 100 %.",
    "peukert_exponent": "How much faster a large load empties the battery than its Ah suggest (1.25 for flooded "
                        "lead-acid, about 1.05 for LiFePO4; 1.00 = no correction). Affects SOC and time-to-go, never "
                        "consumed Ah; changing it never makes SOC jump.",
    "charge_efficiency": "Share of charging Ah the battery keeps (95 % lead-acid, 99 % LiFePO4). Applied to charging "
                         "in both consumed Ah and SOC.",
    "current_threshold": "Currents smaller than this are treated as zero for counting, so noise does not drift SOC. "
                         "If W01 reports a hidden current, run zero_current first, then lower this.",
    "ttg_averaging": "Minutes over which the current is averaged for time-to-go (0 = the latest sample).",
    "discharge_floor": "Time-to-go counts down to this SOC, not to 0 %. It never changes SOC itself (0 % is still "
                       "empty) and, while relay_low_soc is linked, it is also the relay's low-SOC level.",
    "start_synchronized": "Without a saved state (first start), begin at 100 % (on) or unknown until the first sync "
                          "(off). A saved state always wins.",
    "shunt_rating_a": "The shunt's rated current, as printed on it (500 A for a 500 A/50 mV shunt).",
    "shunt_rating_mv": "The shunt's voltage drop at its rated current (50 mV for a 500 A/50 mV shunt).",
    "current_invert": "Swap the current's sign if the shunt is wired the other way round (charging must read "
                      "positive; W04 tells when it is likely backwards).",
    "voltage_divider": "Ratio of an external divider in front of the INA226 bus input (needed above 36 V, e.g. 48 V "
                       "banks); also a fine voltage trim.",
    "ina226_timing": "standard: a result every 141 ms; pulsed: longer shunt integration for inverters and other "
                     "pulsed loads.",
    "nominal_voltage": "auto detects 12/24/36/48 V from the charging voltage (it never steps down); a fixed value "
                       "stops detection. W02 warns when settings and bank do not match.",
    "sync_mode": "When voltage and current say full. accepted (default): V above charged_voltage and current below "
                 "the tail (a discharge counts) once 0.1 % of capacity was charged since the last sync, and the "
                 "count agrees the battery was refilled (within 5 % of capacity + 1 % a day; W18 when it withholds "
                 "a sync); wrong when the count itself drifted: run synchronize. victron: V and current low "
                 "enough; wrong on LiFePO4 with a lead-acid charged_voltage: re-syncs under any load. strict: also "
                 "a charging current; late when loads exceed the charger after absorption.",
    "peukert_mode": "victron: Peukert below and above the 20 h rate; above_c20: only loads above C20 are corrected.",
    "alarm_low_voltage_set": "Low-voltage alarm after more than 10 s below this (0 = off).",
    "alarm_low_voltage_clear": "The low-voltage alarm clears at once above this (a value below set means set).",
    "alarm_high_voltage_set": "High-voltage alarm after more than 10 s above this (0 = off).",
    "alarm_high_voltage_clear": "The high-voltage alarm clears at once below this (0 or above set means set).",
    "alarm_low_soc_set": "Low-SOC alarm after more than 10 s below this SOC (0 = off; only while synchronised).",
    "alarm_low_soc_clear": "The low-SOC alarm clears at once above this SOC.",
    "relay_mode": "default: the relay closes on any relay threshold; charge: a generator that starts on low SOC or "
                  "low voltage and runs until both are clear; remote: 'relay on|off' only.",
    "relay_invert": "Energise the coil when the relay is open instead of closed.",
    "relay_low_soc": "SOC below which the relay closes (linked: the discharge floor; a number unlinks it).",
    "relay_clear_soc": "SOC above which the low-SOC relay condition clears; must be above relay_low_soc.",
    "relay_min_closed": "Once closed, the relay stays closed at least this long (a generator's minimum run).",
    "relay_off_delay": "The clear condition must hold this long before the relay opens.",
    "relay_low_voltage_set": "The relay closes after more than 10 s below this voltage (0 = off).",
    "relay_low_voltage_clear": "The relay's low-voltage condition clears above this.",
    "relay_high_voltage_set": "default mode: the relay closes after more than 10 s above this voltage (0 = off).",
    "relay_high_voltage_clear": "The relay's high-voltage condition clears below this.",
    "device_name": "Name on BLE and in HEX 0x010C (empty: Shunt-XXXX from the MAC).",
    "instant_readout": "Broadcast the encrypted Victron Instant Readout record for VictronConnect and Home "
                       "Assistant.",
    "battery_type": "The chemistry (lead_acid, lfp). It chooses the advice of the warnings and of help, and what "
                    "apply_battery_type sets: charged voltage, tail current, Peukert, charge efficiency, sync mode. "
                    "Setting it changes nothing else.",
    "instant_readout_key": "The 16-byte key of the Instant Readout record (authenticated sessions only); "
                           "instant_readout_rekey draws a new one.",
    "aux_input": "What the second input measures: starter (a second battery's voltage, second INA226), midpoint "
                 "(the middle of a series bank: catches one failing battery early), temperature (DS18B20), or "
                 "none. A mode whose hardware is missing shows '---' and raises W16.",
    "aux_voltage_divider": "Ratio of a divider in front of the second INA226's bus input (needed when the "
                           "starter or mid-point voltage can exceed 36 V).",
    "alarm_low_starter_set": "Low starter-voltage alarm after more than 10 s below this (0 = off; counted in H13).",
    "alarm_low_starter_clear": "The low starter-voltage alarm clears at once above this (below set means set).",
    "alarm_high_starter_set": "High starter-voltage alarm after more than 10 s above this (0 = off; counted in H14).",
    "alarm_high_starter_clear": "The high starter-voltage alarm clears at once below this (0 or above set means set).",
    "alarm_midpoint_set": "Mid-point alarm after more than 10 s with the deviation (top half minus bottom half, in "
                          "% of the bank voltage) beyond this either way (0 = off). During charge an alarm that "
                          "fades in absorption is a bank still balancing; one that returns every discharge, or "
                          "grows, is a failing battery: measure each battery.",
    "alarm_midpoint_clear": "The mid-point alarm clears at once when the deviation is back below this.",
    "alarm_low_temperature_set": "Low-temperature alarm after more than 10 s below this temperature (off = none).",
    "alarm_low_temperature_clear": "The low-temperature alarm clears at once above this.",
    "alarm_high_temperature_set": "High-temperature alarm after more than 10 s above this temperature (off = none).",
    "alarm_high_temperature_clear": "The high-temperature alarm clears at once below this.",
    "temp_coefficient": "Capacity lost per degree C below 20 C, in % of the capacity (Victron's temperature "
                        "coefficient; typical 1.0 for lead-acid, 0.5 for LiFePO4; 0 = off). With aux_input "
                        "temperature and a reading, SOC and time-to-go use the capacity reduced by it (never below "
                        "10 %); without a reading, the set capacity. Consumed Ah are not changed.",
    "relay_aux_alarms": "on: in relay_mode default the relay also closes while any aux alarm (starter, mid-point, "
                        "temperature) is active.",
}
