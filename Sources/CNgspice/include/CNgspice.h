// Shim over ngspice's shared-library header.
//
// `sharedspice.h` uses `bool` without including <stdbool.h>, so it cannot be imported on its own.
// Bruno never links libngspice: it `dlopen`s private copies at run time (see BrunoSpice), so only the
// types of this header are used from Swift, never its function declarations.
#ifndef BRUNO_CNGSPICE_H
#define BRUNO_CNGSPICE_H
#include <stdbool.h>
#include <ngspice/sharedspice.h>

/// Vector type codes of ngspice (`enum simvartype` in ngspice's sim.h); `vector_info.v_type` holds one.
enum bruno_ngspice_vector_type {
    BRUNO_SV_NOTYPE = 0, BRUNO_SV_TIME = 1, BRUNO_SV_FREQUENCY = 2, BRUNO_SV_VOLTAGE = 3,
    BRUNO_SV_CURRENT = 4, BRUNO_SV_VOLTAGE_DENSITY = 5, BRUNO_SV_CURRENT_DENSITY = 6,
    BRUNO_SV_SQR_VOLTAGE_DENSITY = 7, BRUNO_SV_SQR_CURRENT_DENSITY = 8, BRUNO_SV_SQR_VOLTAGE = 9,
    BRUNO_SV_SQR_CURRENT = 10, BRUNO_SV_POLE = 11, BRUNO_SV_ZERO = 12, BRUNO_SV_SPARAM = 13,
    BRUNO_SV_TEMP = 14, BRUNO_SV_RES = 15, BRUNO_SV_IMPEDANCE = 16, BRUNO_SV_ADMITTANCE = 17,
    BRUNO_SV_POWER = 18, BRUNO_SV_PHASE = 19, BRUNO_SV_DB = 20, BRUNO_SV_CAPACITANCE = 21,
    BRUNO_SV_CHARGE = 22
};
#endif
