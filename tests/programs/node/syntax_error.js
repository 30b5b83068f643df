console.log("this call is never closed";
